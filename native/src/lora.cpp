#include "lora.h"
#include <cmath>
#include <cstdio>
#include <random>
#include <set>
#include <stdexcept>
#include "gguf.h"
#include "gguf_io.h"

namespace {
struct GgufCloser { void operator()(gguf_context * c) const { gguf_free(c); } };
struct CtxCloser { void operator()(ggml_context * c) const { ggml_free(c); } };

std::string dims(const ggml_tensor * t) {
    return "[" + std::to_string(t->ne[0]) + ", " + std::to_string(t->ne[1]) + "]";
}
}  // namespace

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

    std::unique_ptr<ggml_context, CtxCloser> desc(ggml_init({ggml_tensor_overhead() * 2 * 7 * (model->layers.size() + 1), nullptr, true}));
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
    ggml_context * meta_raw = nullptr;
    std::unique_ptr<gguf_context, GgufCloser> g(gguf_init_from_file(path.c_str(), {true, &meta_raw}));
    std::unique_ptr<ggml_context, CtxCloser> meta(meta_raw);
    FILE * probe = std::fopen(path.c_str(), "rb");
    if (!probe) throw std::runtime_error(path + ": no such file");
    std::fseek(probe, 0, SEEK_END);
    const long file_size = std::ftell(probe);
    if (!g) {
        std::fclose(probe);
        throw std::runtime_error(path + ": not a valid GGUF file");
    }
    auto str = [&](const char * key) {
        int64_t id = gguf_find_key(g.get(), key);
        return id >= 0 && gguf_get_kv_type(g.get(), id) == GGUF_TYPE_STRING ? std::string(gguf_get_val_str(g.get(), id)) : std::string();
    };
    auto close_and_fail = [&](const std::string & what) {
        std::fclose(probe);
        return std::runtime_error(path + ": " + what);
    };
    if (str("general.type") != "adapter" || str("adapter.type") != "lora") throw close_and_fail("not a LoRA adapter (general.type must be 'adapter', adapter.type 'lora')");
    if (str("general.architecture") != model->hp.arch) {
        throw close_and_fail("adapter is for architecture '" + str("general.architecture") + "', the model is '" + model->hp.arch + "'");
    }
    std::shared_ptr<Adapter> ad(new Adapter());
    ad->model = model;
    int64_t alpha_id = gguf_find_key(g.get(), "adapter.lora.alpha");
    ad->alpha = alpha_id >= 0 && gguf_get_kv_type(g.get(), alpha_id) == GGUF_TYPE_FLOAT32 ? gguf_get_val_f32(g.get(), alpha_id) : 0.0f;

    const size_t data_offset = gguf_get_data_offset(g.get());
    std::vector<std::pair<ggml_tensor *, std::pair<ggml_tensor *, ggml_tensor *>>> specs;
    std::set<std::string> modules;
    for (int il = 0; il < (int) model->layers.size(); il++) {
        for (const std::string & module : lora_modules()) {
            ggml_tensor * w = model->target_weight(module, il);
            ggml_tensor * a = ggml_get_tensor(meta.get(), (std::string(w->name) + ".lora_a").c_str());
            ggml_tensor * b = ggml_get_tensor(meta.get(), (std::string(w->name) + ".lora_b").c_str());
            if (!a && !b) continue;
            if (!a || !b) throw close_and_fail(std::string("tensor ") + w->name + " has only one of lora_a and lora_b");
            const int64_t r = a->ne[1];
            if (a->ne[0] != w->ne[0] || b->ne[1] != w->ne[1] || b->ne[0] != r || ggml_n_dims(a) > 2 || ggml_n_dims(b) > 2) {
                throw close_and_fail(std::string("adapter was made for another model: ") + w->name + " is " + dims(w) + " but lora_a is " +
                                     dims(a) + " and lora_b " + dims(b));
            }
            if (ad->rank != 0 && ad->rank != r) throw close_and_fail("tensors have different ranks");
            ad->rank = (int) r;
            modules.insert(module);
            specs.push_back({w, {a, b}});
        }
    }
    if (specs.empty()) throw close_and_fail("no LoRA tensors match this model's weights (made for another model?)");
    if ((int64_t) specs.size() * 2 != gguf_get_n_tensors(g.get())) {
        for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); i++) {
            const std::string name = gguf_get_tensor_name(g.get(), i);
            bool used = false;
            for (const auto & [base, ab] : specs) used = used || name == ab.first->name || name == ab.second->name;
            if (!used) throw close_and_fail("tensor '" + name + "' matches no weight of this model (made for another model, or an unsupported LoRA target)");
        }
    }
    for (int64_t i = 0; i < gguf_get_n_tensors(g.get()); i++) {
        const size_t end = data_offset + gguf_get_tensor_offset(g.get(), i) + gguf_get_tensor_size(g.get(), i);
        if (end > (size_t) file_size) throw close_and_fail("file is truncated");
    }
    for (const std::string & m : lora_modules()) if (modules.count(m)) ad->targets.push_back(m);
    try {
        ad->allocate(specs);
    } catch (...) {
        std::fclose(probe);
        throw;
    }
    std::vector<uint8_t> staging;
    for (const auto & [base, ab] : specs) {
        const LoraWeight & lw = ad->weights[base];
        for (auto [src, dst] : {std::pair{ab.first, lw.a}, std::pair{ab.second, lw.b}}) {
            const int64_t id = gguf_find_tensor(g.get(), src->name);
            staging.resize(ggml_nbytes(src));
            if (std::fseek(probe, (long) (data_offset + gguf_get_tensor_offset(g.get(), id)), SEEK_SET) != 0 ||
                std::fread(staging.data(), 1, staging.size(), probe) != staging.size()) {
                throw close_and_fail(std::string("could not read tensor ") + src->name);
            }
            if (src->type == GGML_TYPE_F32) {
                ggml_backend_tensor_set(dst, staging.data(), 0, staging.size());
                continue;
            }
            const ggml_type_traits * traits = ggml_get_type_traits(src->type);
            if (!traits->to_float) throw close_and_fail(std::string("tensor ") + src->name + " has unsupported type " + ggml_type_name(src->type));
            std::vector<float> widened(ggml_nelements(src));
            traits->to_float(staging.data(), widened.data(), ggml_nelements(src));
            ggml_backend_tensor_set(dst, widened.data(), 0, widened.size() * sizeof(float));
        }
    }
    std::fclose(probe);
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
