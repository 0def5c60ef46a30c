// A llama-family GGUF model's header, checked before anything is allocated for it: every hyperparameter that
// reaches ggml (norm epsilon, RoPE base and scale, head counts, sizes), every tensor's shape and type against
// them, every byte inside the file. Needs neither Node nor a ggml backend (the fuzzer links it as it is).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>
#include "gguf_file.h"

struct Hparams {
    std::string arch;
    std::string name;
    int64_t n_vocab = 0, n_embd = 0, n_layer = 0, n_head = 0, n_head_kv = 0, n_ff = 0;
    int64_t n_ctx_train = 0, head_dim = 0, n_rot = 0;
    float rms_eps = 1e-5f, rope_freq_base = 10000.0f, rope_freq_scale = 1.0f;
};

struct Layer {
    ggml_tensor * attn_norm = nullptr, * wq = nullptr, * wk = nullptr, * wv = nullptr, * wo = nullptr;
    ggml_tensor * ffn_norm = nullptr, * w_gate = nullptr, * w_up = nullptr, * w_down = nullptr;
};

/** Most layers a model may declare (llama.cpp's LLAMA_MAX_LAYERS). */
constexpr int64_t MAX_LAYERS = 512;

/** A checked model header: descriptors (no data) in `file->meta`. */
struct ModelFile {
    std::unique_ptr<GgufFile> file;
    Hparams hp;
    ggml_tensor * tok_embd = nullptr, * output_norm = nullptr, * output = nullptr /* null: tied */, * rope_freqs = nullptr;
    std::vector<Layer> layers;
    /** Every tensor the model uses, in load order. */
    std::vector<ggml_tensor *> tensors;
    /** Their stored bytes, all together; the largest one. */
    uint64_t bytes = 0, largest = 0;
    ggml_type main_type = GGML_TYPE_F32;
};

/**
 * Opens and checks a llama GGUF model. Throws std::runtime_error "<path>: <what>" naming the metadata key or tensor
 * at fault: a missing or mistyped key, a value ggml would abort on or compute nonsense with (epsilon NaN, ≤ 0 or ≥ 1;
 * a RoPE base or scale that is not a positive finite number), counts that do not divide, more layers than tensors,
 * a vocabulary that disagrees with the embedding, tensor shapes or types the graph cannot use.
 */
ModelFile inspect_model(const std::string & path);

/** Checks rope_freqs.weight's values once read: each a finite number above 0. */
void check_rope_freqs(const std::string & path, const float * values, int64_t n);

/** The LoRA target modules a llama layer has, in a stable order. */
const std::vector<std::string> & lora_modules();

/** A target module's weight name in layer `il` ("blk.3.attn_q.weight"). */
std::string target_name(const std::string & module, int64_t il);

/** A target module's weight shape {n_in, n_out} in a model of these hyperparameters. */
std::pair<int64_t, int64_t> target_shape(const Hparams & hp, const std::string & module);
