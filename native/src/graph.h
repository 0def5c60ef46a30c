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
    /**
     * Causal attention in this many blocks of queries, block b attending keys up to its last query only: the
     * masked upper blocks are never computed (a third less work at 4 blocks). 1: llama.cpp's exact layout, which
     * inference keeps for bit-level parity. Set before build_inputs.
     */
    int attention_blocks = 1;
    ggml_tensor * zeros = nullptr;   // F32 [n_embd * n_tokens * n_seq], all 0: what the blocks are added into
};

/** Enough nodes for a 7B-sized llama with LoRA on every module, forward and backward. */
constexpr size_t GRAPH_MAX_NODES = 65536;

/**
 * LoRA dropout (inverted): the LoRA branch sees x ⊙ mask, mask entries 0 or 1/(1-p). Masks are views at
 * per-module offsets into one random pool (a graph input), so a step needs one host-made pool, not one mask per module.
 */
struct Dropout {
    ggml_tensor * pool = nullptr;       // F32 [pool_len]
    std::vector<int64_t> offsets;       // one per (layer, module) in lora_modules() order
};

/** Creates the graph inputs (tokens, positions, mask, zeros for blocked attention) for n_seq sequences of n_tokens. */
void build_inputs(ggml_context * ctx, int64_t n_tokens, int64_t n_seq, int64_t n_embd, GraphInputs & in);

/** The attention blocks training uses for sequences of n_tokens: more blocks skip more, but each costs ops. */
int attention_blocks_for(int64_t n_tokens);

/** Token embeddings [n_embd, n_tokens * n_seq]. */
ggml_tensor * build_embeddings(ggml_context * ctx, const Model & m, const GraphInputs & in);

/** One transformer block applied to x [n_embd, n_tokens * n_seq]; dropout may be null. */
ggml_tensor * build_layer(ggml_context * ctx, const Model & m, const Adapter * adapter, int il, ggml_tensor * x,
                          const GraphInputs & in, int64_t n_tokens, int64_t n_seq, const Dropout * dropout);

/** Final norm and output projection: logits F32 [n_vocab, columns of x]. */
ggml_tensor * build_head(ggml_context * ctx, const Model & m, ggml_tensor * x);

/** Logits F32 [n_vocab, n_tokens * n_seq] for n_seq sequences of n_tokens each. */
ggml_tensor * build_forward(ggml_context * ctx, const Model & m, const Adapter * adapter, int64_t n_tokens, int64_t n_seq, GraphInputs & in);

/** Rewrites `node` in place to compute what `model` (a fresh node of the same shape) computes: the graph's other nodes keep pointing at `node`. */
void become(ggml_tensor * node, const ggml_tensor * model);

/** Host values for the inputs: positions and the causal mask. */
void fill_positions(std::vector<int32_t> & pos, int64_t n_tokens, int64_t n_seq);
void fill_causal_mask(std::vector<float> & mask, int64_t n_tokens);

/**
 * Log-probability of each next token: out[i] = log p(tokens[i+1] | tokens[0..i]).
 * Throws std::runtime_error for tokens outside the vocabulary or a sequence longer than the context.
 */
std::vector<float> forward_logprobs(Model & m, const Adapter * adapter, const std::vector<int32_t> & tokens);
