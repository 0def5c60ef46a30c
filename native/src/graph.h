// The llama forward graph, shared by inference (log-probabilities) and training (part 2).
#pragma once
#include <vector>
#include "lora.h"
#include "model.h"

/** Graph inputs the caller fills before computing. */
struct GraphInputs {
    ggml_tensor * tokens = nullptr;  // I32 [n_tokens * n_seq]
    ggml_tensor * pos = nullptr;     // I32 [n_tokens * n_seq], 0..n_tokens-1 per sequence
    ggml_tensor * mask = nullptr;    // F32 [n_tokens, n_tokens], causal: 0 or -inf
};

/** Enough nodes for a 7B-sized llama with LoRA on every module, forward and backward. */
constexpr size_t GRAPH_MAX_NODES = 65536;

/** Logits F32 [n_vocab, n_tokens * n_seq] for n_seq sequences of n_tokens each. */
ggml_tensor * build_forward(ggml_context * ctx, const Model & m, const Adapter * adapter, int64_t n_tokens, int64_t n_seq, GraphInputs & in);

/** Host values for the inputs: positions and the causal mask. */
void fill_positions(std::vector<int32_t> & pos, int64_t n_tokens, int64_t n_seq);
void fill_causal_mask(std::vector<float> & mask, int64_t n_tokens);

/**
 * Log-probability of each next token: out[i] = log p(tokens[i+1] | tokens[0..i]).
 * Throws std::runtime_error for tokens outside the vocabulary or a sequence longer than the context.
 */
std::vector<float> forward_logprobs(Model & m, const Adapter * adapter, const std::vector<int32_t> & tokens);
