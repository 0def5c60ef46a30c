#include "lora.h"
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>
#include "adapter_file.h"
#include "gguf.h"
#include "gguf_io.h"

Adapter::~Adapter() {
    if (buffer_) ggml_backend_buffer_free(buffer_);
    if (ctx_) ggml_free(ctx_);
}

const LoraWeight * Adapter::find(const ggml_tensor * base) const {
    auto it = weights.find(base);
    return it == weights.end() ? nullptr : &it->second;
}

// specs: base weight → (a descriptor, b descriptor) in any context; creates our own copies on the model's device.
void Adapter::allocate(const std::vector<std::pair<ggml_tensor *, std::pair<ggml_tensor *, ggml_tensor *>>> & specs) {
    ctx_ = ggml_init({ggml_tensor_overhead() * (2 * specs.size() + 1), nullptr, true});
    if (!ctx_) throw std::runtime_error("out of memory");
    for (const auto & [base, ab] : specs) {
        // Always F32: the trainer updates these in place, and F16 files are widened on load.
        ggml_tensor * a = ggml_new_tensor_2d(ctx_, GGML_TYPE_F32, ab.first->ne[0], ab.first->ne[1]);
        ggml_tensor * b = ggml_new_tensor_2d(ctx_, GGML_TYPE_F32, ab.second->ne[0], ab.second->ne[1]);
        ggml_format_name(a, "%s.lora_a", base->name);
        ggml_format_name(b, "%s.lora_b", base->name);
        weights[base] = {a, b};
        names.push_back(base->name);
        n_params += ggml_nelements(a) + ggml_nelements(b);
    }
    buffer_ = ggml_backend_alloc_ctx_tensors_from_buft(ctx_, ggml_backend_dev_buffer_type(model->backends.main_dev));
    if (!buffer_) throw std::runtime_error("not enough memory on " + model->backends.device_name + " for the adapter");
}

std::shared_ptr<Adapter> Adapter::create(std::shared_ptr<Model> model, const LoraConfig & config) {
    if (config.rank <= 0) throw std::runtime_error("rank must be at least 1");
    if (!(config.alpha > 0) || !std::isfinite(config.alpha)) throw std::runtime_error("alpha must be a positive number");
    if (config.targets.empty()) throw std::runtime_error("choose at least one target module");
    std::set<std::string> seen;
    for (const std::string & t : config.targets) {
        bool known = false;
        for (const std::string & m : lora_modules()) known = known || m == t;
        if (!known) {
            std::string list;
            for (const std::string & m : lora_modules()) list += (list.empty() ? "" : ", ") + m;
            throw std::runtime_error("unknown target module '" + t + "' (known: " + list + ")");
        }
        if (!seen.insert(t).second) throw std::runtime_error("target module '" + t + "' is listed twice");
    }
    std::shared_ptr<Adapter> ad(new Adapter());
    ad->model = model;
    ad->rank = config.rank;
    ad->alpha = config.alpha;
    ad->targets = config.targets;

    GgmlCtxPtr desc(ggml_init({ggml_tensor_overhead() * 2 * 7 * (model->layers.size() + 1), nullptr, true}));
    std::vector<std::pair<ggml_tensor *, std::pair<ggml_tensor *, ggml_tensor *>>> specs;
    for (int il = 0; il < (int) model->layers.size(); il++) {
        for (const std::string & module : lora_modules()) {
            if (!seen.count(module)) continue;
            ggml_tensor * w = model->target_weight(module, il);
            if (config.rank > std::min(w->ne[0], w->ne[1])) {
                throw std::runtime_error("rank " + std::to_string(config.rank) + " is larger than " + w->name + " allows (" +
                                         std::to_string(std::min(w->ne[0], w->ne[1])) + ")");
            }
            specs.push_back({w, {ggml_new_tensor_2d(desc.get(), GGML_TYPE_F32, w->ne[0], config.rank),
                                 ggml_new_tensor_2d(desc.get(), GGML_TYPE_F32, config.rank, w->ne[1])}});
        }
    }
    ad->allocate(specs);

    std::mt19937_64 rng(config.seed);
    std::normal_distribution<float> normal(0.0f, 1.0f / (float) config.rank);
    std::vector<float> host;
    for (const std::string & name : ad->names) {
        for (auto & [base, lw] : ad->weights) {
            if (name != base->name) continue;
            host.assign(ggml_nelements(lw.a), 0.0f);
            for (float & v : host) v = normal(rng);
            ggml_backend_tensor_set(lw.a, host.data(), 0, ggml_nbytes(lw.a));
            host.assign(ggml_nelements(lw.b), 0.0f);
            ggml_backend_tensor_set(lw.b, host.data(), 0, ggml_nbytes(lw.b));
        }
    }
    return ad;
}

std::shared_ptr<Adapter> Adapter::load(std::shared_ptr<Model> model, const std::string & path) {
    // Kind, architecture, alpha, every pair's shape against its weight, one rank: all checked before allocating.
    const AdapterFile file = inspect_adapter(path, model->hp);
    std::shared_ptr<Adapter> ad(new Adapter());
    ad->model = model;
    ad->rank = file.rank;
    ad->alpha = file.alpha;
    ad->targets = file.targets;
    std::vector<std::pair<ggml_tensor *, std::pair<ggml_tensor *, ggml_tensor *>>> specs;
    for (const AdapterPair & p : file.pairs) specs.push_back({model->target_weight(p.module, (int) p.layer), {p.a, p.b}});
    ad->allocate(specs);
    for (const auto & [base, ab] : specs) {
        const LoraWeight & lw = ad->weights[base];
        for (auto [src, dst] : {std::pair{ab.first, lw.a}, std::pair{ab.second, lw.b}}) {
            const std::vector<float> values = read_lora_values(*file.file, src);
            ggml_backend_tensor_set(dst, values.data(), 0, values.size() * sizeof(float));
        }
    }
    return ad;
}

std::vector<std::pair<std::string, ggml_tensor *>> Adapter::tensors() const {
    std::vector<std::pair<std::string, ggml_tensor *>> out;
    for (const std::string & name : names) {
        for (const auto & [base, lw] : weights) {
            if (name != base->name) continue;
            out.push_back({lw.a->name, lw.a});
            out.push_back({lw.b->name, lw.b});
        }
    }
    return out;
}

ggml_tensor * Adapter::tensor(const std::string & name) const {
    for (const auto & [n, t] : tensors()) if (n == name) return t;
    throw std::runtime_error("the adapter has no tensor '" + name + "'");
}

void Adapter::save(const std::string & path) const {
    std::lock_guard<std::mutex> lock(model->compute_mutex);
    const std::string arch = model->hp.arch;
    const float a = alpha;
    write_gguf_atomic(path, [&](gguf_context * g) {
        gguf_set_val_str(g, "general.architecture", arch.c_str());
        gguf_set_val_str(g, "general.type", "adapter");
        gguf_set_val_str(g, "adapter.type", "lora");
        gguf_set_val_f32(g, "adapter.lora.alpha", a);
    }, tensors());
}
