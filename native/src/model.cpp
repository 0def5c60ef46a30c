#include "model.h"
#include <stdexcept>
#include <vector>

Model::~Model() {
    if (buffer_) ggml_backend_buffer_free(buffer_);
    if (ctx_) ggml_free(ctx_);
}

ggml_tensor * Model::target_weight(const std::string & module, int il) const {
    if (il < 0 || il >= (int) layers.size()) return nullptr;
    const Layer & l = layers[il];
    if (module == "attn_q") return l.wq;
    if (module == "attn_k") return l.wk;
    if (module == "attn_v") return l.wv;
    if (module == "attn_output") return l.wo;
    if (module == "ffn_gate") return l.w_gate;
    if (module == "ffn_up") return l.w_up;
    if (module == "ffn_down") return l.w_down;
    return nullptr;
}

std::shared_ptr<Model> Model::load(const std::string & path, const LoadOptions & options) {
    // Every hyperparameter, shape, type and offset is checked before anything is sized by them.
    ModelFile mf = inspect_model(path);
    const GgufFile & file = *mf.file;
    std::shared_ptr<Model> m(new Model());
    m->path = path;
    m->hp = mf.hp;
    m->main_type = mf.main_type;

    init_backends(m->backends, options.device, options.threads);
    size_t free = 0, total = 0;
    ggml_backend_dev_memory(m->backends.main_dev, &free, &total);
    // The CPU reports its physical memory as free; a GPU what is free now. Staging takes the largest tensor on the host.
    if (free != 0 && mf.bytes > free) {
        throw std::runtime_error(path + ": the model's weights need " + format_bytes(mf.bytes) + ", more than " + m->backends.device_name +
                                 " has free (" + format_bytes(free) + ")");
    }
    check_host_memory(path, mf.largest, "staging the largest tensor");

    // Copy the descriptors into our own context, allocate them on the device, then stream the bytes in.
    m->ctx_ = ggml_init({ggml_tensor_overhead() * (mf.tensors.size() + 1), nullptr, true});
    if (!m->ctx_) throw std::runtime_error(path + ": out of memory");
    std::map<const ggml_tensor *, ggml_tensor *> copy;
    for (ggml_tensor * t : mf.tensors) {
        ggml_tensor * c = ggml_dup_tensor(m->ctx_, t);
        ggml_set_name(c, t->name);
        copy[t] = c;
    }
    m->buffer_ = ggml_backend_alloc_ctx_tensors_from_buft(m->ctx_, ggml_backend_dev_buffer_type(m->backends.main_dev));
    if (!m->buffer_) throw std::runtime_error(path + ": not enough memory on " + m->backends.device_name + " for the model's weights");
    ggml_backend_buffer_set_usage(m->buffer_, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    m->weights_bytes = ggml_backend_buffer_get_size(m->buffer_);

    std::vector<uint8_t> staging;
    size_t done = 0;
    for (ggml_tensor * t : mf.tensors) {
        if (options.cancelled && options.cancelled()) throw std::runtime_error("cancelled: loading " + path + " was aborted");
        const size_t bytes = ggml_nbytes(t);
        staging.resize(bytes);
        file.read_tensor(t, staging.data());
        if (t == mf.rope_freqs) check_rope_freqs(path, reinterpret_cast<const float *>(staging.data()), ggml_nelements(t));
        ggml_backend_tensor_set(copy[t], staging.data(), 0, bytes);
        done += bytes;
        if (options.on_progress) options.on_progress(mf.bytes ? (double) done / (double) mf.bytes : 1.0);
    }

    m->tok_embd = copy[mf.tok_embd];
    m->output_norm = copy[mf.output_norm];
    m->output = mf.output ? copy[mf.output] : m->tok_embd;  // tied embeddings
    m->rope_freqs = mf.rope_freqs ? copy[mf.rope_freqs] : nullptr;
    for (const Layer & l : mf.layers) {
        m->layers.push_back({copy[l.attn_norm], copy[l.wq], copy[l.wk], copy[l.wv], copy[l.wo],
                             copy[l.ffn_norm], copy[l.w_gate], copy[l.w_up], copy[l.w_down]});
    }
    return m;
}
