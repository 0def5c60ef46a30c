// Backend selection: which ggml device runs the model, and the CPU beside it for what the device lacks.
#pragma once
#include <string>
#include <vector>
#include "ggml-backend.h"

/** Most CPU threads a caller may ask for: ggml sizes a thread pool by it. */
constexpr int MAX_THREADS = 1024;

struct Backends {
    ggml_backend_t main = nullptr;      // the device the weights live on (GPU, or the CPU)
    ggml_backend_t cpu = nullptr;       // always present: ops the device cannot run fall back here
    ggml_backend_dev_t main_dev = nullptr;
    std::string device_name;            // e.g. "CPU", "CUDA0"
    int threads = 1;

    Backends() = default;
    Backends(const Backends &) = delete;
    Backends & operator=(const Backends &) = delete;
    ~Backends();

    /** main first, then the CPU when it is a different backend; the order ggml's scheduler expects. */
    std::vector<ggml_backend_t> list() const;
    bool on_cpu() const { return main == cpu; }
};

/** Loads ggml's backend libraries from `dir` once per process (skipped when another library did it). */
void load_backends(const std::string & dir);

/** device: "cpu", "gpu" (first GPU, error if none) or "auto" (first GPU, else the CPU). threads 0: all cores; above MAX_THREADS or below 0 is refused. */
void init_backends(Backends & out, const std::string & device, int threads);

struct DeviceInfo {
    std::string name, description, type;
    size_t free = 0, total = 0;
};
std::vector<DeviceInfo> list_devices();
