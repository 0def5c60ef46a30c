// LoRA adapters in llama.cpp's GGUF format: <base tensor>.lora_a [n_in, r], .lora_b [r, n_out], scale alpha / r.
#pragma once
#include <map>
#include <memory>
#include <string>
#include <vector>
#include "model.h"

struct LoraWeight {
    ggml_tensor * a = nullptr;  // [n_in, r]
    ggml_tensor * b = nullptr;  // [r, n_out]
};

struct LoraConfig {
    int rank = 8;
    float alpha = 16.0f;
    std::vector<std::string> targets;  // lora_modules() names
    uint64_t seed = 42;
};

class Adapter {
public:
    /** A fresh adapter: A ~ N(0, 1/r²) as in the LoRA paper's Gaussian init (PEFT's "gaussian"), B = 0, so it starts as a no-op. */
    static std::shared_ptr<Adapter> create(std::shared_ptr<Model> model, const LoraConfig & config);
    /** Reads a GGUF LoRA file and checks every tensor against the base model's shapes. */
    static std::shared_ptr<Adapter> load(std::shared_ptr<Model> model, const std::string & path);
    ~Adapter();

    /** Writes the adapter as GGUF: to `path + ".tmp"`, then renamed over `path`. */
    void save(const std::string & path) const;

    /** alpha / rank; an adapter without alpha is applied at scale 1, as llama.cpp does. */
    float scale() const { return rank > 0 && alpha > 0 ? alpha / (float) rank : 1.0f; }
    /** Every A and B tensor with its GGUF name, in file order (A before B, layer by layer). */
    std::vector<std::pair<std::string, ggml_tensor *>> tensors() const;
    /** One tensor by GGUF name; throws if there is none. */
    ggml_tensor * tensor(const std::string & name) const;
    /** The LoRA pair for a base weight, or null. */
    const LoraWeight * find(const ggml_tensor * base) const;

    std::shared_ptr<Model> model;
    int rank = 0;
    float alpha = 0;
    std::vector<std::string> targets;
    std::map<const ggml_tensor *, LoraWeight> weights;  // keyed by the base weight
    std::vector<std::string> names;                      // base tensor names, in file order
    size_t n_params = 0;

private:
    Adapter() = default;
    void allocate(const std::vector<std::pair<ggml_tensor *, std::pair<ggml_tensor *, ggml_tensor *>>> & specs);
    ggml_context * ctx_ = nullptr;
    ggml_backend_buffer_t buffer_ = nullptr;
};
