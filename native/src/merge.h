// Merging a LoRA adapter into its base model: W' = W + scale·B·A for every adapted weight, requantized to the
// weight's stored type; every other byte of the base file (header, metadata, other tensors, padding) as it is.
#pragma once
#include <cstdint>
#include <functional>
#include <string>

struct MergeProgress {
    int64_t tensors_done = 0, tensors_total = 0;
    uint64_t bytes_done = 0, bytes_total = 0;
    /** The tensor just written, and whether the adapter changed it. */
    std::string tensor;
    bool merged = false;
};

struct MergeOptions {
    /** Threads for the adapted weights, 1..MAX_THREADS (backend.h); 0: all cores. */
    int threads = 0;
    /** Called after each tensor (on the merging thread); may be empty. */
    std::function<void(const MergeProgress &)> on_progress;
    /** Polled between tensors and copy chunks: the merge stops with "cancelled" once it returns true; may be empty. */
    std::function<bool()> cancelled;
};

struct MergeResult {
    int64_t tensors = 0, merged = 0;
    uint64_t bytes = 0;
};

/**
 * Writes the merged model to `out_path`, which must not exist (the caller's temporary file, renamed into place
 * once it has checked it): in full and flushed to disk (fsync) when this returns. Everything is checked before
 * the first byte is written; on any failure or cancellation the file is removed. Streams tensor by tensor: the
 * memory used is about the largest adapted weight's stored bytes, its LoRA pair in F32 and a few MiB.
 * Throws std::runtime_error naming the file (model, adapter or out_path) and the tensor or key at fault.
 */
MergeResult merge_adapter(const std::string & model_path, const std::string & adapter_path, const std::string & out_path,
                          const MergeOptions & options);
