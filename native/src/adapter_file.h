// A LoRA adapter GGUF's header, checked against the model it is for before anything is allocated: its kind and
// architecture, alpha, every A/B pair's shape against the weight it adapts, one rank, readable types, every byte
// inside the file. Needs neither Node nor a ggml backend (the fuzzer links it as it is).
#pragma once
#include <cstdint>
#include <memory>
#include <string>
#include <vector>
#include "gguf_file.h"
#include "model_file.h"

/** One adapted weight: layer, module and its LoRA pair's descriptors (a [n_in, r], b [r, n_out]). */
struct AdapterPair {
    int64_t layer = 0;
    std::string module;
    ggml_tensor * a = nullptr, * b = nullptr;
};

struct AdapterFile {
    std::unique_ptr<GgufFile> file;
    int rank = 0;
    /** adapter.lora.alpha, 0 when absent (the update is then applied at scale 1, as llama.cpp does). */
    float alpha = 0.0f;
    /** The adapted modules, in lora_modules() order. */
    std::vector<std::string> targets;
    std::vector<AdapterPair> pairs;
    /** What the pairs take in F32. */
    uint64_t f32_bytes = 0;
};

/** Most a LoRA rank may be. */
constexpr int64_t MAX_LORA_RANK = 65536;

/**
 * Opens and checks a LoRA adapter for a model of hyperparameters `hp`. Throws std::runtime_error "<path>: <what>"
 * naming the key or tensor at fault.
 */
AdapterFile inspect_adapter(const std::string & path, const Hparams & hp);

/** A LoRA tensor's values as F32; throws naming it when any is NaN or infinite. */
std::vector<float> read_lora_values(const GgufFile & file, const ggml_tensor * t);
