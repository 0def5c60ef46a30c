#include "backend.h"
#include <stdexcept>
#include <algorithm>
#include <string>
#include <thread>

Backends::~Backends() {
    if (main && main != cpu) ggml_backend_free(main);
    if (cpu) ggml_backend_free(cpu);
}

std::vector<ggml_backend_t> Backends::list() const {
    std::vector<ggml_backend_t> out{main};
    if (cpu && cpu != main) out.push_back(cpu);
    return out;
}

void load_backends(const std::string & dir) {
    // node-llama-cpp may already have registered them in this process: loading twice would duplicate devices.
    if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) != nullptr) return;
    ggml_backend_load_all_from_path(dir.empty() ? nullptr : dir.c_str());
    if (ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU) == nullptr) {
        throw std::runtime_error("could not load ggml's CPU backend from " + dir);
    }
}

static void set_threads(ggml_backend_t backend, int threads) {
    ggml_backend_dev_t dev = ggml_backend_get_device(backend);
    ggml_backend_reg_t reg = dev ? ggml_backend_dev_backend_reg(dev) : nullptr;
    if (!reg) return;
    auto fn = (ggml_backend_set_n_threads_t) ggml_backend_reg_get_proc_address(reg, "ggml_backend_set_n_threads");
    if (fn) fn(backend, threads);
}

void init_backends(Backends & out, const std::string & device, int threads) {
    if (device != "cpu" && device != "gpu" && device != "auto") {
        throw std::runtime_error("unknown device '" + device + "' (use cpu, gpu or auto)");
    }
    ggml_backend_dev_t cpu_dev = ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_CPU);
    if (!cpu_dev) throw std::runtime_error("ggml's CPU backend is not loaded");
    ggml_backend_dev_t gpu_dev = device == "cpu" ? nullptr : ggml_backend_dev_by_type(GGML_BACKEND_DEVICE_TYPE_GPU);
    if (device == "gpu" && !gpu_dev) {
        throw std::runtime_error("no GPU backend is available: this build of the ggml libraries found no CUDA, Vulkan or Metal device");
    }
    if (threads < 0 || threads > MAX_THREADS) {
        throw std::runtime_error("threads must be a whole number from 1 to " + std::to_string(MAX_THREADS) + ", got " + std::to_string(threads));
    }
    out.threads = threads > 0 ? threads : (int) std::min<unsigned>(MAX_THREADS, std::max(1u, std::thread::hardware_concurrency()));
    out.cpu = ggml_backend_dev_init(cpu_dev, nullptr);
    if (!out.cpu) throw std::runtime_error("could not start ggml's CPU backend");
    set_threads(out.cpu, out.threads);
    if (gpu_dev) {
        out.main = ggml_backend_dev_init(gpu_dev, nullptr);
        if (!out.main) throw std::runtime_error(std::string("could not start the GPU backend ") + ggml_backend_dev_name(gpu_dev));
        out.main_dev = gpu_dev;
    } else {
        out.main = out.cpu;
        out.main_dev = cpu_dev;
    }
    out.device_name = ggml_backend_dev_name(out.main_dev);
}

std::vector<DeviceInfo> list_devices() {
    std::vector<DeviceInfo> out;
    for (size_t i = 0; i < ggml_backend_dev_count(); i++) {
        ggml_backend_dev_t dev = ggml_backend_dev_get(i);
        DeviceInfo info;
        info.name = ggml_backend_dev_name(dev);
        info.description = ggml_backend_dev_description(dev);
        switch (ggml_backend_dev_type(dev)) {
            case GGML_BACKEND_DEVICE_TYPE_CPU: info.type = "cpu"; break;
            case GGML_BACKEND_DEVICE_TYPE_GPU: info.type = "gpu"; break;
            case GGML_BACKEND_DEVICE_TYPE_IGPU: info.type = "igpu"; break;
            default: info.type = "accel"; break;
        }
        ggml_backend_dev_memory(dev, &info.free, &info.total);
        out.push_back(info);
    }
    return out;
}
