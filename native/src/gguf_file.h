// A GGUF file a user handed us, opened safely: a regular file only (opened without blocking, so a FIFO is
// refused, never waited on), its header walked and bounded against the file's size before gguf parses it
// (counts, string and array lengths, tensor shapes and offsets), every tensor inside the file. Needs neither
// Node nor a ggml backend: native/fuzz/gguf_fuzz.cpp links it as it is.
#pragma once
#include <sys/types.h>
#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include "ggml.h"
#include "gguf.h"

struct GgufFree { void operator()(gguf_context * c) const { gguf_free(c); } };
struct GgmlFree { void operator()(ggml_context * c) const { ggml_free(c); } };
using GgufPtr = std::unique_ptr<gguf_context, GgufFree>;
using GgmlCtxPtr = std::unique_ptr<ggml_context, GgmlFree>;

/** At most this many tensors (a 512-layer llama has 4,611; its full LoRA optimizer state 14,336). */
constexpr int64_t GGUF_MAX_TENSORS = 16384;
/** At most this many metadata keys (real files have a few dozen). */
constexpr int64_t GGUF_MAX_KEYS = 4096;
/** Metadata keys are at most this long (gguf compares them pairwise: long shared prefixes would be slow). */
constexpr uint64_t GGUF_MAX_KEY_BYTES = 256;
/** What the parsed metadata may take in memory (a 256k-token vocabulary with merges takes about 30 MiB). */
constexpr uint64_t GGUF_MAX_METADATA_BYTES = 512ull << 20;

/** `path: what`, the form of every error about a file. */
std::runtime_error file_error(const std::string & path, const std::string & what);

/** "1.5 GiB", for messages. */
std::string format_bytes(uint64_t bytes);

/** A GGUF file open for reading: its header parsed by gguf (tensor descriptors without data), its bytes read with pread. */
struct GgufFile {
    std::string path;
    GgufPtr g;
    GgmlCtxPtr meta;
    int fd = -1;
    uint64_t size = 0;
    uint64_t data_offset = 0;
    dev_t dev = 0;
    ino_t ino = 0;

    GgufFile() = default;
    GgufFile(const GgufFile &) = delete;
    GgufFile & operator=(const GgufFile &) = delete;
    ~GgufFile();

    int64_t n_tensors() const { return gguf_get_n_tensors(g.get()); }
    /** A string value, or "" when the key is absent; throws when it holds something else. */
    std::string str(const std::string & key) const;
    /** An integer value (any integer type), absent as nullopt; throws naming the key when it is not an integer or above INT64_MAX. */
    std::optional<int64_t> integer(const std::string & key) const;
    /** A number (F32 or F64), absent as nullopt; throws naming the key when it is not a number. */
    std::optional<double> number(const std::string & key) const;
    /** The element count of an array value, absent as nullopt; throws when the key holds no array of `type`. */
    std::optional<uint64_t> array_length(const std::string & key, gguf_type type) const;

    /** Where tensor `id`'s bytes begin in the file. */
    uint64_t start(int64_t id) const { return data_offset + gguf_get_tensor_offset(g.get(), id); }
    ggml_tensor * tensor(int64_t id) const { return ggml_get_tensor(meta.get(), gguf_get_tensor_name(g.get(), id)); }
    /** The descriptor of a tensor by name, or null. */
    ggml_tensor * tensor(const std::string & name) const { return ggml_get_tensor(meta.get(), name.c_str()); }
    /** n bytes at `offset`; throws naming `what` when the file ends first. */
    void read(void * dst, size_t n, uint64_t offset, const std::string & what) const;
    /** A tensor's stored bytes. */
    void read_tensor(const ggml_tensor * t, void * dst) const;
};

/**
 * Opens `path` as a GGUF file; `what` names it in errors ("model file", "adapter"). Refuses, naming the file and
 * the field at fault: anything but a regular file (without waiting on a FIFO), a header whose counts or lengths
 * do not fit in the file or exceed the limits above, unknown types, shapes whose size overflows, tensor data
 * past the end of the file. Allocates only what the checked header needs.
 */
std::unique_ptr<GgufFile> open_gguf(const std::string & path, const std::string & what);

/** The machine's physical memory in bytes (0 when unknown). */
uint64_t physical_memory();

/** Refuses, before allocating it, `bytes` of host memory for `what` when the machine has less. */
void check_host_memory(const std::string & path, uint64_t bytes, const std::string & what);

/** Shape "[a, b]" of a tensor, for messages. */
std::string shape_of(const ggml_tensor * t);
