#include "merge.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>
#include "adapter_file.h"
#include "backend.h"
#include "ggml.h"
#include "gguf.h"
#include "gguf_file.h"

namespace {

constexpr size_t COPY_CHUNK = 8u << 20;

std::runtime_error fail(const std::string & path, const std::string & what) {
    return std::runtime_error(path + ": " + what);
}

std::string errno_text(int e) {
    switch (e) {
        case ENOSPC: return "the disk is full (ENOSPC)";
#ifdef EDQUOT
        case EDQUOT: return "the disk quota is used up (EDQUOT)";
#endif
        case EROFS: return "the file system is read-only (EROFS)";
        case EACCES:
        case EPERM: return "permission denied";
        case ENOENT: return "no such file or folder";
        case ENOTDIR: return "a part of the path is not a folder";
        case EEXIST: return "the file already exists";
        case EIO: return "an input/output error (EIO: a failing disk?)";
        default: return std::strerror(e);
    }
}

/** The file being written; removed unless finish() succeeded. */
class Output {
public:
    explicit Output(const std::string & path) : path_(path) {
        fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ < 0) throw fail(path, "cannot create the file: " + errno_text(errno));
    }
    Output(const Output &) = delete;
    Output & operator=(const Output &) = delete;
    ~Output() {
        if (fd_ >= 0) ::close(fd_);
        if (!finished_) ::unlink(path_.c_str());
    }

    void write(const void * data, size_t n) {
        const auto * p = static_cast<const uint8_t *>(data);
        while (n > 0) {
            const ssize_t put = ::write(fd_, p, n);
            if (put < 0 && errno == EINTR) continue;
            if (put <= 0) throw fail(path_, "could not write: " + errno_text(put < 0 ? errno : EIO));
            p += put;
            n -= (size_t) put;
            written_ += (uint64_t) put;
        }
    }

    /** fsync then close: a full disk or a failing one can surface only here. */
    void finish() {
        if (::fsync(fd_) != 0) throw fail(path_, "could not flush the file to disk: " + errno_text(errno));
        const int fd = fd_;
        fd_ = -1;
        if (::close(fd) != 0) throw fail(path_, "could not close the file: " + errno_text(errno));
        finished_ = true;
    }

    uint64_t written() const { return written_; }

private:
    std::string path_;
    int fd_ = -1;
    uint64_t written_ = 0;
    bool finished_ = false;
};

/** The types ggml_quantize_chunk writes (ggml.c); anything else would abort inside ggml. */
bool requantizable(ggml_type t) {
    switch (t) {
        case GGML_TYPE_F32: case GGML_TYPE_F16: case GGML_TYPE_BF16:
        case GGML_TYPE_Q4_0: case GGML_TYPE_Q4_1: case GGML_TYPE_Q5_0: case GGML_TYPE_Q5_1: case GGML_TYPE_Q8_0:
        case GGML_TYPE_Q1_0: case GGML_TYPE_Q2_0: case GGML_TYPE_MXFP4: case GGML_TYPE_NVFP4:
        case GGML_TYPE_Q2_K: case GGML_TYPE_Q3_K: case GGML_TYPE_Q4_K: case GGML_TYPE_Q5_K: case GGML_TYPE_Q6_K:
        case GGML_TYPE_TQ1_0: case GGML_TYPE_TQ2_0:
        case GGML_TYPE_IQ2_XXS: case GGML_TYPE_IQ2_XS: case GGML_TYPE_IQ2_S: case GGML_TYPE_IQ3_XXS: case GGML_TYPE_IQ3_S:
        case GGML_TYPE_IQ1_S: case GGML_TYPE_IQ1_M: case GGML_TYPE_IQ4_NL: case GGML_TYPE_IQ4_XS:
            return true;
        default:
            return false;
    }
}

/** ggml's own rule, and llama.cpp's quantize tool's for the very low-bit IQ2_S and IQ1_M it also refuses without one. */
bool needs_imatrix(ggml_type t) {
    return ggml_quantize_requires_imatrix(t) || t == GGML_TYPE_IQ2_S || t == GGML_TYPE_IQ1_M;
}

/** One adapted weight: its base tensor and its LoRA pair in the adapter. */
struct Pair {
    int64_t w_id = -1, a_id = -1, b_id = -1;
    ggml_tensor * w = nullptr, * a = nullptr, * b = nullptr;
    /** token_embd is looked up, not multiplied: llama.cpp stores its pair flipped (a [r, n_vocab], b [r, n_embd]). */
    bool embedding = false;
};

/** A tensor of the adapter in F32, every value finite. */
std::vector<float> read_f32(const GgufFile & f, int64_t, const ggml_tensor * t) {
    return read_lora_values(f, t);
}

/**
 * data (rows × n_in in `type`) += scale · C·P in place, C rows × r and P r × n_in (both row-major): dequantized
 * a block of rows at a time, the low-rank product added in F32, quantized back into the same bytes.
 */
void add_low_rank(ggml_type type, uint8_t * data, int64_t rows, int64_t n_in, const float * C, const float * P, int64_t r,
                  float scale, int threads) {
    constexpr int64_t BLOCK = 16;
    const size_t row_bytes = ggml_row_size(type, n_in);
    const ggml_to_float_t to_float = ggml_get_type_traits(type)->to_float;
    auto work = [&](int64_t first, int64_t last) {
        std::vector<float> w((size_t) (BLOCK * n_in)), delta((size_t) n_in);
        for (int64_t row0 = first; row0 < last; row0 += BLOCK) {
            const int64_t n = std::min(BLOCK, last - row0);
            uint8_t * bytes = data + (size_t) row0 * row_bytes;
            if (type == GGML_TYPE_F32) std::memcpy(w.data(), bytes, (size_t) (n * n_in) * sizeof(float));
            else to_float(bytes, w.data(), n * n_in);
            for (int64_t i = 0; i < n; i++) {
                const float * c = C + (row0 + i) * r;
                std::fill(delta.begin(), delta.end(), 0.0f);
                float * d = delta.data();
                int64_t j = 0;
                // Four rank components per pass over delta: a quarter of its loads and stores.
                for (; j + 4 <= r; j += 4) {
                    const float c0 = c[j], c1 = c[j + 1], c2 = c[j + 2], c3 = c[j + 3];
                    const float * p0 = P + j * n_in, * p1 = p0 + n_in, * p2 = p1 + n_in, * p3 = p2 + n_in;
                    for (int64_t k = 0; k < n_in; k++) d[k] += c0 * p0[k] + c1 * p1[k] + c2 * p2[k] + c3 * p3[k];
                }
                for (; j < r; j++) {
                    const float cj = c[j];
                    const float * p = P + j * n_in;
                    for (int64_t k = 0; k < n_in; k++) d[k] += cj * p[k];
                }
                float * row = w.data() + i * n_in;
                for (int64_t k = 0; k < n_in; k++) row[k] += scale * delta[k];
            }
            ggml_quantize_chunk(type, w.data(), bytes, 0, n, n_in, nullptr);
        }
    };
    const int64_t blocks = (rows + BLOCK - 1) / BLOCK;
    const int n_threads = (int) std::max<int64_t>(1, std::min<int64_t>(threads, blocks));
    if (n_threads == 1) return work(0, rows);
    std::vector<std::thread> pool;
    for (int t = 0; t < n_threads; t++) {
        const int64_t first = blocks * t / n_threads * BLOCK, last = std::min(rows, blocks * (t + 1) / n_threads * BLOCK);
        pool.emplace_back(work, first, last);
    }
    for (std::thread & th : pool) th.join();
}

/** Checks the adapter against the base and pairs every LoRA tensor with the weight it adapts; throws naming the tensor. */
std::map<int64_t, Pair> pair_tensors(const GgufFile & base, const GgufFile & adapter) {
    const std::string & ap = adapter.path;
    std::map<std::string, Pair> by_name;
    for (int64_t i = 0; i < gguf_get_n_tensors(adapter.g.get()); i++) {
        std::string name = gguf_get_tensor_name(adapter.g.get(), i);
        const bool is_a = name.size() > 7 && name.compare(name.size() - 7, 7, ".lora_a") == 0;
        const bool is_b = name.size() > 7 && name.compare(name.size() - 7, 7, ".lora_b") == 0;
        if (!is_a && !is_b) throw fail(ap, "tensor '" + name + "' is not a LoRA tensor (their names end in .lora_a or .lora_b)");
        Pair & p = by_name[name.substr(0, name.size() - 7)];
        (is_a ? p.a_id : p.b_id) = i;
        (is_a ? p.a : p.b) = adapter.tensor(i);
    }
    if (by_name.empty()) throw fail(ap, "the adapter holds no LoRA tensors");
    std::map<int64_t, Pair> pairs;
    for (auto & [name, p] : by_name) {
        if (!p.a || !p.b) throw fail(ap, "tensor '" + name + "' has only one of lora_a and lora_b");
        p.w_id = gguf_find_tensor(base.g.get(), name.c_str());
        if (p.w_id < 0) throw fail(ap, "tensor '" + name + "' is not in the base model " + base.path + " (the adapter was made for another model)");
        p.w = base.tensor(p.w_id);
        p.embedding = name == "token_embd.weight" || (name.size() > 18 && name.compare(name.size() - 18, 18, ".token_embd.weight") == 0);
        const ggml_tensor * w = p.w, * a = p.a, * b = p.b;
        const bool two_d = ggml_n_dims(w) <= 2 && ggml_n_dims(a) <= 2 && ggml_n_dims(b) <= 2;
        // ggml order, as llama.cpp checks it: a weight is [in, out], lora_a [in, r], lora_b [r, out]; token_embd's pair is flipped.
        const bool fits = p.embedding ? w->ne[0] == b->ne[1] && w->ne[1] == a->ne[1] && a->ne[0] == b->ne[0]
                                      : w->ne[0] == a->ne[0] && w->ne[1] == b->ne[1] && a->ne[1] == b->ne[0];
        if (!two_d || !fits) {
            throw fail(ap, "the adapter was made for another model: " + name + " is " + shape_of(w) + " but its lora_a is " + shape_of(a) +
                           " and lora_b " + shape_of(b));
        }
        for (const ggml_tensor * t : {a, b}) {
            if (t->type != GGML_TYPE_F32 && !ggml_get_type_traits(t->type)->to_float) {
                throw fail(ap, "tensor '" + std::string(t->name) + "' has type " + ggml_type_name(t->type) + ", which ggml cannot read as floats");
            }
        }
        if (needs_imatrix(w->type)) {
            throw fail(base.path, "cannot merge into tensor '" + name + "': its type " + ggml_type_name(w->type) +
                                  " needs an importance matrix to quantize, which a merge does not have");
        }
        if (!requantizable(w->type) || (w->type != GGML_TYPE_F32 && !ggml_get_type_traits(w->type)->to_float)) {
            throw fail(base.path, "cannot merge into tensor '" + name + "': ggml cannot requantize its type " + ggml_type_name(w->type));
        }
        const int64_t r = p.embedding ? a->ne[0] : a->ne[1];
        if (r < 1 || r > MAX_LORA_RANK) {
            throw fail(ap, "tensor '" + name + ".lora_a' has rank " + std::to_string(r) + "; a LoRA rank must be from 1 to " + std::to_string(MAX_LORA_RANK));
        }
        pairs[p.w_id] = p;
    }
    return pairs;
}

}  // namespace

MergeResult merge_adapter(const std::string & model_path, const std::string & adapter_path, const std::string & out_path,
                          const MergeOptions & options) {
    auto base = open_gguf(model_path, "model file");
    auto adapter = open_gguf(adapter_path, "adapter");
    if (base->dev == adapter->dev && base->ino == adapter->ino) throw fail(adapter_path, "is the model file itself, not an adapter");
    if (base->str("general.type") == "adapter") throw fail(model_path, "this is a LoRA adapter, not a base model (general.type is 'adapter')");
    if (adapter->str("general.type") != "adapter" || adapter->str("adapter.type") != "lora") {
        throw fail(adapter_path, "not a LoRA adapter (general.type must be 'adapter' and adapter.type 'lora')");
    }
    const std::string arch = base->str("general.architecture"), adapter_arch = adapter->str("general.architecture");
    if (adapter_arch != arch) {
        throw fail(adapter_path, "general.architecture is '" + adapter_arch + "' but the base model " + model_path + " is '" + arch +
                                 "': the adapter was made for another model");
    }
    float alpha = 0.0f;
    const int64_t alpha_id = gguf_find_key(adapter->g.get(), "adapter.lora.alpha");
    if (alpha_id >= 0) {
        const gguf_type kt = gguf_get_kv_type(adapter->g.get(), alpha_id);
        if (kt == GGUF_TYPE_FLOAT32) alpha = gguf_get_val_f32(adapter->g.get(), alpha_id);
        else if (kt == GGUF_TYPE_FLOAT64) alpha = (float) gguf_get_val_f64(adapter->g.get(), alpha_id);
        else throw fail(adapter_path, "adapter.lora.alpha is not a number");
        if (!std::isfinite(alpha) || alpha < 0) throw fail(adapter_path, "adapter.lora.alpha must be a finite number ≥ 0, got " + std::to_string(alpha));
    }
    const std::map<int64_t, Pair> pairs = pair_tensors(*base, *adapter);

    const int64_t n_tensors = gguf_get_n_tensors(base->g.get());
    std::vector<int64_t> order((size_t) n_tensors);
    for (int64_t i = 0; i < n_tensors; i++) order[(size_t) i] = i;
    std::sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return base->start(x) < base->start(y); });
    for (size_t i = 1; i < order.size(); i++) {
        if (base->start(order[i]) < base->start(order[i - 1]) + gguf_get_tensor_size(base->g.get(), order[i - 1])) {
            throw fail(model_path, "tensors '" + std::string(gguf_get_tensor_name(base->g.get(), order[i - 1])) + "' and '" +
                                   gguf_get_tensor_name(base->g.get(), order[i]) + "' overlap");
        }
    }
    if (options.threads < 0 || options.threads > MAX_THREADS) {
        throw std::runtime_error("threads must be a whole number from 1 to " + std::to_string(MAX_THREADS) + ", got " + std::to_string(options.threads));
    }
    const int threads = options.threads > 0 ? options.threads : (int) std::min<unsigned>(MAX_THREADS, std::max(1u, std::thread::hardware_concurrency()));
    // What one adapted weight takes while it is merged: its stored bytes, its pair in F32 (twice for token_embd's transpose).
    uint64_t peak = 0;
    for (const auto & [id, p] : pairs) {
        const uint64_t pair = 4 * (uint64_t) (ggml_nelements(p.a) + ggml_nelements(p.b));
        peak = std::max<uint64_t>(peak, ggml_nbytes(p.w) + pair + (p.embedding ? 4 * (uint64_t) ggml_nelements(p.b) : 0));
    }
    check_host_memory(model_path, peak + COPY_CHUNK, "merging the largest adapted weight");
    for (const auto & [id, p] : pairs) ggml_quantize_init(p.w->type);

    Output out(out_path);
    std::vector<uint8_t> chunk(COPY_CHUNK), weight;
    MergeProgress progress;
    progress.tensors_total = n_tensors;
    progress.bytes_total = base->size;
    auto check_cancelled = [&]() {
        if (options.cancelled && options.cancelled()) throw std::runtime_error("cancelled: the merge into " + out_path + " was stopped");
    };
    // Header, metadata, padding and unadapted tensors: byte for byte from the base.
    auto copy = [&](uint64_t from, uint64_t to, const std::string & what) {
        while (from < to) {
            check_cancelled();
            const size_t n = (size_t) std::min<uint64_t>(chunk.size(), to - from);
            base->read(chunk.data(), n, from, what);
            out.write(chunk.data(), n);
            from += n;
        }
    };
    uint64_t pos = 0;
    MergeResult result;
    for (int64_t id : order) {
        check_cancelled();
        const std::string name = gguf_get_tensor_name(base->g.get(), id);
        const uint64_t start = base->start(id), size = gguf_get_tensor_size(base->g.get(), id);
        copy(pos, start, pos == 0 ? "the header" : "the padding before tensor '" + name + "'");
        auto it = pairs.find(id);
        if (it == pairs.end()) {
            copy(start, start + size, "tensor '" + name + "'");
        } else {
            const Pair & p = it->second;
            weight.resize((size_t) size);
            base->read(weight.data(), weight.size(), start, "tensor '" + name + "'");
            const std::vector<float> a = read_f32(*adapter, p.a_id, p.a), b = read_f32(*adapter, p.b_id, p.b);
            const int64_t r = p.b->ne[0];
            const float scale = alpha != 0.0f ? alpha / (float) r : 1.0f;  // llama.cpp's rule: no alpha, scale 1
            if (!p.embedding) {
                // Row o of W gains Σ_j B[o][j]·A_j: C = B (n_out rows of r), P = A (r rows of n_in).
                add_low_rank(p.w->type, weight.data(), p.w->ne[1], p.w->ne[0], b.data(), a.data(), r, scale, threads);
            } else {
                // Row v gains Σ_j A[v][j]·Bᵀ_j: C = A (n_vocab rows of r), P = Bᵀ (r rows of n_embd).
                std::vector<float> bt(b.size());
                const int64_t n_embd = p.b->ne[1];
                for (int64_t e = 0; e < n_embd; e++) {
                    for (int64_t j = 0; j < r; j++) bt[(size_t) (j * n_embd + e)] = b[(size_t) (e * r + j)];
                }
                add_low_rank(p.w->type, weight.data(), p.w->ne[1], p.w->ne[0], a.data(), bt.data(), r, scale, threads);
            }
            out.write(weight.data(), weight.size());
            result.merged++;
        }
        pos = start + size;
        progress.tensors_done++;
        progress.bytes_done = out.written();
        progress.tensor = name;
        progress.merged = it != pairs.end();
        if (options.on_progress) options.on_progress(progress);
    }
    copy(pos, base->size, "the end of the file");
    check_cancelled();
    out.finish();
    result.tensors = n_tensors;
    result.bytes = out.written();
    return result;
}
