#include "model.h"
#include <cstdio>
#include <cstring>
#include <stdexcept>
#include <sys/stat.h>
#include "gguf.h"

namespace {

struct GgufCloser { void operator()(gguf_context * c) const { gguf_free(c); } };
struct CtxCloser { void operator()(ggml_context * c) const { ggml_free(c); } };
using GgufPtr = std::unique_ptr<gguf_context, GgufCloser>;
using CtxPtr = std::unique_ptr<ggml_context, CtxCloser>;

std::runtime_error fail(const std::string & path, const std::string & what) {
    return std::runtime_error(path + ": " + what);
}

int64_t get_int(gguf_context * g, const std::string & key, int64_t fallback, bool required, const std::string & path) {
    int64_t id = gguf_find_key(g, key.c_str());
    if (id < 0) {
        if (required) throw fail(path, "missing metadata key '" + key + "'");
        return fallback;
    }
    switch (gguf_get_kv_type(g, id)) {
        case GGUF_TYPE_UINT8: return gguf_get_val_u8(g, id);
        case GGUF_TYPE_INT8: return gguf_get_val_i8(g, id);
        case GGUF_TYPE_UINT16: return gguf_get_val_u16(g, id);
        case GGUF_TYPE_INT16: return gguf_get_val_i16(g, id);
        case GGUF_TYPE_UINT32: return gguf_get_val_u32(g, id);
        case GGUF_TYPE_INT32: return gguf_get_val_i32(g, id);
        case GGUF_TYPE_UINT64: return (int64_t) gguf_get_val_u64(g, id);
        case GGUF_TYPE_INT64: return gguf_get_val_i64(g, id);
        default: throw fail(path, "metadata key '" + key + "' is not an integer");
    }
}

float get_float(gguf_context * g, const std::string & key, float fallback, const std::string & path) {
    int64_t id = gguf_find_key(g, key.c_str());
    if (id < 0) return fallback;
    switch (gguf_get_kv_type(g, id)) {
        case GGUF_TYPE_FLOAT32: return gguf_get_val_f32(g, id);
        case GGUF_TYPE_FLOAT64: return (float) gguf_get_val_f64(g, id);
        default: throw fail(path, "metadata key '" + key + "' is not a number");
    }
}

std::string get_str(gguf_context * g, const std::string & key, const std::string & fallback) {
    int64_t id = gguf_find_key(g, key.c_str());
    if (id < 0 || gguf_get_kv_type(g, id) != GGUF_TYPE_STRING) return fallback;
    return gguf_get_val_str(g, id);
}

std::string shape(const ggml_tensor * t) {
    std::string s = "[";
    for (int i = 0; i < ggml_n_dims(t); i++) s += (i ? ", " : "") + std::to_string(t->ne[i]);
    return s + "]";
}

}  // namespace

const std::vector<std::string> & lora_modules() {
    static const std::vector<std::string> modules = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    return modules;
}

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
    struct stat st;
    if (stat(path.c_str(), &st) != 0) throw fail(path, "no such file");
    if (!S_ISREG(st.st_mode)) throw fail(path, "not a file");

    ggml_context * meta_raw = nullptr;
    GgufPtr g(gguf_init_from_file(path.c_str(), {/*no_alloc*/ true, &meta_raw}));
    CtxPtr meta(meta_raw);
    if (!g) throw fail(path, "not a valid GGUF file (unreadable header or metadata; is it truncated or another format?)");

    std::shared_ptr<Model> m(new Model());
    m->path = path;
    Hparams & hp = m->hp;
    hp.arch = get_str(g.get(), "general.architecture", "");
    if (hp.arch != "llama") {
        throw fail(path, "unsupported model architecture '" + (hp.arch.empty() ? std::string("(none)") : hp.arch) +
                         "'; supported: llama (Llama 2/3, CodeLlama, Mistral, DeepSeek Coder)");
    }
    if (get_str(g.get(), "general.type", "model") == "adapter") throw fail(path, "this is a LoRA adapter, not a base model");
    const std::string a = hp.arch + ".";
    hp.name = get_str(g.get(), "general.name", "");
    hp.n_embd = get_int(g.get(), a + "embedding_length", 0, true, path);
    hp.n_layer = get_int(g.get(), a + "block_count", 0, true, path);
    hp.n_head = get_int(g.get(), a + "attention.head_count", 0, true, path);
    hp.n_head_kv = get_int(g.get(), a + "attention.head_count_kv", hp.n_head, false, path);
    hp.n_ff = get_int(g.get(), a + "feed_forward_length", 0, true, path);
    hp.n_ctx_train = get_int(g.get(), a + "context_length", 0, true, path);
    hp.rms_eps = get_float(g.get(), a + "attention.layer_norm_rms_epsilon", 1e-5f, path);
    hp.rope_freq_base = get_float(g.get(), a + "rope.freq_base", 10000.0f, path);
    const std::string scaling = get_str(g.get(), a + "rope.scaling.type", "none");
    const float factor = get_float(g.get(), a + "rope.scaling.factor", 0.0f, path);
    if (scaling == "linear" && factor > 0) hp.rope_freq_scale = 1.0f / factor;
    else if (scaling != "none" && scaling != "linear" && factor > 0 && factor != 1.0f) {
        throw fail(path, "RoPE scaling '" + scaling + "' is not supported yet (supported: none, linear)");
    }
    if (hp.n_embd <= 0 || hp.n_layer <= 0 || hp.n_head <= 0 || hp.n_head_kv <= 0 || hp.n_ff <= 0 || hp.n_ctx_train <= 0) {
        throw fail(path, "hyperparameters must be positive");
    }
    if (hp.n_embd % hp.n_head != 0) throw fail(path, "embedding_length is not a multiple of head_count");
    if (hp.n_head % hp.n_head_kv != 0) throw fail(path, "head_count is not a multiple of head_count_kv");
    hp.head_dim = hp.n_embd / hp.n_head;
    hp.n_rot = get_int(g.get(), a + "rope.dimension_count", hp.head_dim, false, path);
    if (hp.n_rot != hp.head_dim) throw fail(path, "rope.dimension_count must equal the head size for llama models");

    // Every tensor's bytes must lie inside the file: a truncated download is caught here, not mid-compute.
    const size_t data_offset = gguf_get_data_offset(g.get());
    const int64_t n_tensors = gguf_get_n_tensors(g.get());
    for (int64_t i = 0; i < n_tensors; i++) {
        const size_t end = data_offset + gguf_get_tensor_offset(g.get(), i) + gguf_get_tensor_size(g.get(), i);
        if (end > (size_t) st.st_size) {
            throw fail(path, "file is truncated: tensor '" + std::string(gguf_get_tensor_name(g.get(), i)) + "' ends at byte " +
                             std::to_string(end) + " but the file has " + std::to_string((long long) st.st_size) + " bytes");
        }
    }

    auto find = [&](const std::string & name, std::vector<int64_t> ne, bool required) -> ggml_tensor * {
        ggml_tensor * t = ggml_get_tensor(meta.get(), name.c_str());
        if (!t) {
            if (required) throw fail(path, "missing tensor '" + name + "'");
            return nullptr;
        }
        for (size_t d = 0; d < GGML_MAX_DIMS; d++) {
            const int64_t want = d < ne.size() ? ne[d] : 1;
            if (t->ne[d] != want) {
                std::string expected = "[";
                for (size_t k = 0; k < ne.size(); k++) expected += (k ? ", " : "") + std::to_string(ne[k]);
                throw fail(path, "tensor '" + name + "' has shape " + shape(t) + ", expected " + expected + "]");
            }
        }
        return t;
    };
    const int64_t n_embd_kv = hp.head_dim * hp.n_head_kv;
    ggml_tensor * tok = ggml_get_tensor(meta.get(), "token_embd.weight");
    if (!tok) throw fail(path, "missing tensor 'token_embd.weight'");
    hp.n_vocab = tok->ne[1];
    find("token_embd.weight", {hp.n_embd, hp.n_vocab}, true);
    std::vector<ggml_tensor *> wanted;
    auto want = [&](ggml_tensor * t) { if (t) wanted.push_back(t); return t; };
    ggml_tensor * m_tok = want(tok);
    ggml_tensor * m_out_norm = want(find("output_norm.weight", {hp.n_embd}, true));
    ggml_tensor * m_out = want(find("output.weight", {hp.n_embd, hp.n_vocab}, false));
    ggml_tensor * m_rope = want(find("rope_freqs.weight", {hp.n_rot / 2}, false));
    std::vector<Layer> meta_layers(hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) {
        const std::string p = "blk." + std::to_string(il) + ".";
        Layer & l = meta_layers[il];
        l.attn_norm = want(find(p + "attn_norm.weight", {hp.n_embd}, true));
        l.wq = want(find(p + "attn_q.weight", {hp.n_embd, hp.n_embd}, true));
        l.wk = want(find(p + "attn_k.weight", {hp.n_embd, n_embd_kv}, true));
        l.wv = want(find(p + "attn_v.weight", {hp.n_embd, n_embd_kv}, true));
        l.wo = want(find(p + "attn_output.weight", {hp.n_embd, hp.n_embd}, true));
        l.ffn_norm = want(find(p + "ffn_norm.weight", {hp.n_embd}, true));
        l.w_gate = want(find(p + "ffn_gate.weight", {hp.n_embd, hp.n_ff}, true));
        l.w_up = want(find(p + "ffn_up.weight", {hp.n_embd, hp.n_ff}, true));
        l.w_down = want(find(p + "ffn_down.weight", {hp.n_ff, hp.n_embd}, true));
    }
    m->main_type = meta_layers[0].wq->type;

    init_backends(m->backends, options.device, options.threads);

    // Copy the descriptors into our own context, allocate them on the device, then stream the bytes in.
    m->ctx_ = ggml_init({ggml_tensor_overhead() * (wanted.size() + 1), nullptr, true});
    if (!m->ctx_) throw fail(path, "out of memory");
    std::map<ggml_tensor *, ggml_tensor *> copy;
    for (ggml_tensor * t : wanted) {
        ggml_tensor * c = ggml_dup_tensor(m->ctx_, t);
        ggml_set_name(c, t->name);
        copy[t] = c;
    }
    m->buffer_ = ggml_backend_alloc_ctx_tensors_from_buft(m->ctx_, ggml_backend_dev_buffer_type(m->backends.main_dev));
    if (!m->buffer_) throw fail(path, "not enough memory on " + m->backends.device_name + " for the model's weights");
    ggml_backend_buffer_set_usage(m->buffer_, GGML_BACKEND_BUFFER_USAGE_WEIGHTS);
    m->weights_bytes = ggml_backend_buffer_get_size(m->buffer_);

    FILE * f = std::fopen(path.c_str(), "rb");
    if (!f) throw fail(path, "cannot open for reading");
    std::vector<uint8_t> staging;
    size_t total = 0, done = 0;
    for (ggml_tensor * t : wanted) total += ggml_nbytes(t);
    try {
        for (ggml_tensor * t : wanted) {
            if (options.cancelled && options.cancelled()) throw std::runtime_error("cancelled: loading " + path + " was aborted");
            const int64_t id = gguf_find_tensor(g.get(), t->name);
            const size_t bytes = ggml_nbytes(t);
            staging.resize(bytes);
            if (fseeko(f, (off_t) (data_offset + gguf_get_tensor_offset(g.get(), id)), SEEK_SET) != 0 ||
                std::fread(staging.data(), 1, bytes, f) != bytes) {
                throw fail(path, std::string("could not read tensor '") + t->name + "'");
            }
            ggml_backend_tensor_set(copy[t], staging.data(), 0, bytes);
            done += bytes;
            if (options.on_progress) options.on_progress(total ? (double) done / (double) total : 1.0);
        }
    } catch (...) {
        std::fclose(f);
        throw;
    }
    std::fclose(f);

    m->tok_embd = copy[m_tok];
    m->output_norm = copy[m_out_norm];
    m->output = m_out ? copy[m_out] : m->tok_embd;  // tied embeddings
    m->rope_freqs = m_rope ? copy[m_rope] : nullptr;
    for (const Layer & l : meta_layers) {
        m->layers.push_back({copy[l.attn_norm], copy[l.wq], copy[l.wk], copy[l.wv], copy[l.wo],
                             copy[l.ffn_norm], copy[l.w_gate], copy[l.w_up], copy[l.w_down]});
    }
    return m;
}
