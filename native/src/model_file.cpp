#include "model_file.h"
#include <climits>
#include <cmath>
#include <cstdio>
#include <optional>

namespace {

/** Weight types ggml's CPU backend can multiply by (a vec_dot in ggml-cpu.c) and read as floats. */
bool matmul_type(ggml_type t) {
    switch (t) {
        case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16:
        case GGML_TYPE_Q1_0: case GGML_TYPE_Q2_0: case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1:
        case GGML_TYPE_Q8_0: case GGML_TYPE_MXFP4: case GGML_TYPE_NVFP4:
        case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
        case GGML_TYPE_IQ2_XXS: case GGML_TYPE_IQ2_XS: case GGML_TYPE_IQ3_XXS: case GGML_TYPE_IQ3_S: case GGML_TYPE_IQ2_S:
        case GGML_TYPE_IQ1_S: case GGML_TYPE_IQ1_M: case GGML_TYPE_IQ4_NL: case GGML_TYPE_IQ4_XS: case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0:
            return true;
        default:
            return false;
    }
}

std::string num(double v) {
    char out[32];
    std::snprintf(out, sizeof(out), "%g", v);
    return out;
}

std::string dims(const std::vector<int64_t> & ne) {
    std::string s = "[";
    for (size_t k = 0; k < ne.size(); k++) s += (k ? ", " : "") + std::to_string(ne[k]);
    return s + "]";
}

/** What a tensor is for: which types it may have. */
enum class Role { weight, f32 };

class Checker {
public:
    explicit Checker(ModelFile & m) : m_(m), f_(*m.file), path_(m.file->path) {}

    [[noreturn]] void fail(const std::string & what) const { throw file_error(path_, what); }

    /** A whole-number hyperparameter in [lo, hi]; `fallback` when absent, required when there is none. */
    int64_t count(const std::string & key, std::optional<int64_t> fallback, int64_t lo, int64_t hi, const std::string & meaning) const {
        const std::optional<int64_t> v = f_.integer(key);
        if (!v) {
            if (!fallback) fail("missing metadata key '" + key + "' (" + meaning + ")");
            return *fallback;
        }
        if (*v < lo || *v > hi) {
            fail(key + " is " + std::to_string(*v) + "; " + meaning + " must be from " + std::to_string(lo) + " to " + std::to_string(hi));
        }
        return *v;
    }

    /** A number hyperparameter as ggml gets it (a float), which must be finite and above 0 (and below `below`, if given). */
    float positive(const std::string & key, float fallback, std::optional<double> below, const std::string & rule) const {
        const std::optional<double> v = f_.number(key);
        if (!v) return fallback;
        const float f = (float) *v;
        if (!std::isfinite(f) || !(f > 0.0f) || (below && !((double) f < *below))) fail(key + " is " + num(*v) + "; it must be " + rule);
        return f;
    }

    /** A tensor of exactly shape `ne` (ggml order) and a type its role allows; null when absent and not required. */
    ggml_tensor * tensor(const std::string & name, const std::vector<int64_t> & ne, bool required, Role role) {
        ggml_tensor * t = f_.tensor(name);
        if (!t) {
            if (required) fail("missing tensor '" + name + "'");
            return nullptr;
        }
        for (size_t d = 0; d < GGML_MAX_DIMS; d++) {
            if (t->ne[d] != (d < ne.size() ? ne[d] : 1)) fail("tensor '" + name + "' has shape " + shape_of(t) + ", expected " + dims(ne));
        }
        if (role == Role::f32 && t->type != GGML_TYPE_F32) {
            fail("tensor '" + name + "' has type " + ggml_type_name(t->type) + "; it must be f32");
        }
        if (role == Role::weight && !matmul_type(t->type)) {
            fail("tensor '" + name + "' has type " + ggml_type_name(t->type) + ", which the trainer cannot multiply by (use f32, f16, bf16 or a quantized type)");
        }
        m_.tensors.push_back(t);
        m_.bytes += ggml_nbytes(t);
        m_.largest = std::max<uint64_t>(m_.largest, ggml_nbytes(t));
        return t;
    }

private:
    ModelFile & m_;
    const GgufFile & f_;
    const std::string & path_;
};

void read_hparams(ModelFile & m, const Checker & c) {
    GgufFile & f = *m.file;
    Hparams & hp = m.hp;
    const std::string a = hp.arch + ".";
    // The most a count may be: whatever reaches ggml as an int.
    constexpr int64_t INT = INT32_MAX;
    hp.n_embd = c.count(a + "embedding_length", std::nullopt, 1, INT, "the embedding width");
    hp.n_layer = c.count(a + "block_count", std::nullopt, 1, MAX_LAYERS, "the layer count");
    // Each layer has 9 tensors, and the file has token_embd and output_norm besides: a count it cannot hold is refused before anything is sized by it.
    if (hp.n_layer * 9 + 2 > f.n_tensors()) {
        c.fail(a + "block_count is " + std::to_string(hp.n_layer) + ", but the file holds only " + std::to_string(f.n_tensors()) +
               " tensors (a llama layer has 9)");
    }
    hp.n_head = c.count(a + "attention.head_count", std::nullopt, 1, INT, "the attention head count");
    hp.n_head_kv = c.count(a + "attention.head_count_kv", hp.n_head, 1, INT, "the key-value head count");
    hp.n_ff = c.count(a + "feed_forward_length", std::nullopt, 1, INT, "the feed-forward width");
    hp.n_ctx_train = c.count(a + "context_length", std::nullopt, 1, INT, "the context length");
    if (hp.n_embd % hp.n_head != 0) {
        c.fail(a + "attention.head_count (" + std::to_string(hp.n_head) + ") does not divide " + a + "embedding_length (" + std::to_string(hp.n_embd) + ")");
    }
    if (hp.n_head % hp.n_head_kv != 0) {
        c.fail(a + "attention.head_count_kv (" + std::to_string(hp.n_head_kv) + ") does not divide " + a + "attention.head_count (" + std::to_string(hp.n_head) + ")");
    }
    hp.head_dim = hp.n_embd / hp.n_head;
    hp.n_rot = c.count(a + "rope.dimension_count", hp.head_dim, 1, INT, "the RoPE dimension count");
    if (hp.n_rot != hp.head_dim) c.fail(a + "rope.dimension_count (" + std::to_string(hp.n_rot) + ") must equal the head size (" + std::to_string(hp.head_dim) + ") for llama models");
    if (hp.head_dim % 2 != 0) c.fail("the head size " + std::to_string(hp.head_dim) + " (embedding_length / head_count) is odd; RoPE rotates pairs");
    hp.rms_eps = c.positive(a + "attention.layer_norm_rms_epsilon", 1e-5f, 1.0, "a finite number above 0 and below 1 (llama models use 1e-5 or 1e-6)");
    hp.rope_freq_base = c.positive(a + "rope.freq_base", 10000.0f, std::nullopt, "a finite number above 0 (llama models use 10000 to 1000000)");
    const std::string scaling = f.str(a + "rope.scaling.type");
    const std::optional<double> factor = f.number(a + "rope.scaling.factor");
    // 0 means "not set", as in llama.cpp; anything else must be a usable factor.
    if (factor && *factor != 0.0 && !(std::isfinite((float) *factor) && *factor > 0 && std::isfinite(1.0f / (float) *factor))) {
        c.fail(a + "rope.scaling.factor is " + num(*factor) + "; it must be a finite number above 0 (or 0 for none)");
    }
    const double k = factor.value_or(0.0);
    if (scaling == "linear" && k > 0) hp.rope_freq_scale = 1.0f / (float) k;
    else if (!scaling.empty() && scaling != "none" && scaling != "linear" && k > 0 && k != 1.0) {
        c.fail(a + "rope.scaling.type '" + scaling + "' is not supported yet (supported: none, linear)");
    }
}

}  // namespace

const std::vector<std::string> & lora_modules() {
    static const std::vector<std::string> modules = {"attn_q", "attn_k", "attn_v", "attn_output", "ffn_gate", "ffn_up", "ffn_down"};
    return modules;
}

std::string target_name(const std::string & module, int64_t il) {
    return "blk." + std::to_string(il) + "." + module + ".weight";
}

std::pair<int64_t, int64_t> target_shape(const Hparams & hp, const std::string & module) {
    const int64_t kv = hp.head_dim * hp.n_head_kv;
    if (module == "attn_k" || module == "attn_v") return {hp.n_embd, kv};
    if (module == "ffn_gate" || module == "ffn_up") return {hp.n_embd, hp.n_ff};
    if (module == "ffn_down") return {hp.n_ff, hp.n_embd};
    return {hp.n_embd, hp.n_embd};  // attn_q, attn_output
}

void check_rope_freqs(const std::string & path, const float * values, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        if (!std::isfinite(values[i]) || !(values[i] > 0.0f)) {
            throw file_error(path, "tensor 'rope_freqs.weight' holds " + num(values[i]) + " at index " + std::to_string(i) + "; RoPE frequency factors must be finite numbers above 0");
        }
    }
}

ModelFile inspect_model(const std::string & path) {
    ModelFile m;
    m.file = open_gguf(path, "model file");
    GgufFile & f = *m.file;
    Hparams & hp = m.hp;
    hp.arch = f.str("general.architecture");
    if (hp.arch != "llama") {
        throw file_error(path, "unsupported model architecture '" + (hp.arch.empty() ? std::string("(none)") : hp.arch) +
                               "'; supported: llama (Llama 2/3, CodeLlama, Mistral, DeepSeek Coder)");
    }
    if (f.str("general.type") == "adapter") throw file_error(path, "this is a LoRA adapter, not a base model");
    const int64_t name_id = gguf_find_key(f.g.get(), "general.name");
    if (name_id >= 0 && gguf_get_kv_type(f.g.get(), name_id) == GGUF_TYPE_STRING) hp.name = gguf_get_val_str(f.g.get(), name_id);
    Checker c(m);
    read_hparams(m, c);

    ggml_tensor * tok = f.tensor("token_embd.weight");
    if (!tok) c.fail("missing tensor 'token_embd.weight'");
    hp.n_vocab = tok->ne[1];
    if (hp.n_vocab < 1 || hp.n_vocab > INT32_MAX) c.fail("tensor 'token_embd.weight' has shape " + shape_of(tok) + ": a vocabulary of 1 to 2^31-1 tokens is needed");
    const std::string a = hp.arch + ".";
    const std::optional<int64_t> vocab_size = f.integer(a + "vocab_size");
    if (vocab_size && *vocab_size != hp.n_vocab) {
        c.fail(a + "vocab_size is " + std::to_string(*vocab_size) + " but tensor 'token_embd.weight' has " + std::to_string(hp.n_vocab) + " rows");
    }
    const std::optional<uint64_t> tokens = f.array_length("tokenizer.ggml.tokens", GGUF_TYPE_STRING);
    if (tokens && *tokens != (uint64_t) hp.n_vocab) {
        c.fail("tokenizer.ggml.tokens lists " + std::to_string(*tokens) + " tokens but tensor 'token_embd.weight' has " + std::to_string(hp.n_vocab) + " rows");
    }

    const int64_t n_embd_kv = hp.head_dim * hp.n_head_kv;
    m.tok_embd = c.tensor("token_embd.weight", {hp.n_embd, hp.n_vocab}, true, Role::weight);
    m.output_norm = c.tensor("output_norm.weight", {hp.n_embd}, true, Role::f32);
    m.output = c.tensor("output.weight", {hp.n_embd, hp.n_vocab}, false, Role::weight);
    m.rope_freqs = c.tensor("rope_freqs.weight", {hp.n_rot / 2}, false, Role::f32);
    m.layers.resize((size_t) hp.n_layer);
    for (int64_t il = 0; il < hp.n_layer; il++) {
        const std::string p = "blk." + std::to_string(il) + ".";
        Layer & l = m.layers[(size_t) il];
        l.attn_norm = c.tensor(p + "attn_norm.weight", {hp.n_embd}, true, Role::f32);
        l.wq = c.tensor(p + "attn_q.weight", {hp.n_embd, hp.n_embd}, true, Role::weight);
        l.wk = c.tensor(p + "attn_k.weight", {hp.n_embd, n_embd_kv}, true, Role::weight);
        l.wv = c.tensor(p + "attn_v.weight", {hp.n_embd, n_embd_kv}, true, Role::weight);
        l.wo = c.tensor(p + "attn_output.weight", {hp.n_embd, hp.n_embd}, true, Role::weight);
        l.ffn_norm = c.tensor(p + "ffn_norm.weight", {hp.n_embd}, true, Role::f32);
        l.w_gate = c.tensor(p + "ffn_gate.weight", {hp.n_embd, hp.n_ff}, true, Role::weight);
        l.w_up = c.tensor(p + "ffn_up.weight", {hp.n_embd, hp.n_ff}, true, Role::weight);
        l.w_down = c.tensor(p + "ffn_down.weight", {hp.n_ff, hp.n_embd}, true, Role::weight);
    }
    m.main_type = m.layers[0].wq->type;
    return m;
}
