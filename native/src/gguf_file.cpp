#include "gguf_file.h"
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <unordered_set>
#include <vector>

namespace {

std::string kind_of(mode_t mode) {
    if (S_ISDIR(mode)) return "a folder";
    if (S_ISFIFO(mode)) return "a named pipe (FIFO)";
    if (S_ISSOCK(mode)) return "a socket";
    if (S_ISCHR(mode)) return "a character device";
    if (S_ISBLK(mode)) return "a block device";
    return "not a regular file";
}

std::string open_error(int e) {
    switch (e) {
        case ENOENT: return "no such file";
        case ENOTDIR: return "no such file (a part of the path is not a folder)";
        case EACCES:
        case EPERM: return "permission denied";
        case ENXIO: return "a socket or device that cannot be read";
        case ELOOP: return "too many symbolic links";
        default: return std::strerror(e);
    }
}

const char * gguf_type_label(uint32_t t) {
    const char * name = t < GGUF_TYPE_COUNT ? gguf_type_name((gguf_type) t) : nullptr;
    return name ? name : "unknown";
}

size_t scalar_size(uint32_t t) {
    switch (t) {
        case GGUF_TYPE_UINT8: case GGUF_TYPE_INT8: case GGUF_TYPE_BOOL: return 1;
        case GGUF_TYPE_UINT16: case GGUF_TYPE_INT16: return 2;
        case GGUF_TYPE_UINT32: case GGUF_TYPE_INT32: case GGUF_TYPE_FLOAT32: return 4;
        case GGUF_TYPE_UINT64: case GGUF_TYPE_INT64: case GGUF_TYPE_FLOAT64: return 8;
        default: return 0;
    }
}

/**
 * A bounds-checked walk over a GGUF header with buffered preads: every count and length is compared with what
 * is left of the file before anything is sized by it. Errors say "not a valid GGUF file: ..." and name the key
 * or tensor being read.
 */
class HeaderScan {
public:
    HeaderScan(int fd, uint64_t size, const std::string & path) : fd_(fd), size_(size), path_(path), buf_(1u << 20) {}

    /** Walks the whole header; throws at the first thing wrong. */
    void run() {
        if (size_ < 4) invalid("the file has only " + std::to_string(size_) + " bytes");
        char magic[4];
        take(magic, 4, "the magic bytes");
        if (std::memcmp(magic, "GGUF", 4) != 0) invalid("it does not start with the GGUF magic bytes (another format?)");
        const uint32_t version = get<uint32_t>("the version");
        if (version != 2 && version != 3) invalid("GGUF version " + std::to_string(version) + " is not supported (versions 2 and 3 are)");
        const uint64_t n_tensors = get<uint64_t>("the tensor count");
        const uint64_t n_kv = get<uint64_t>("the metadata key count");
        if (n_tensors > (uint64_t) GGUF_MAX_TENSORS) {
            invalid("the header declares " + std::to_string(n_tensors) + " tensors; at most " + std::to_string(GGUF_MAX_TENSORS) + " are supported");
        }
        if (n_kv > (uint64_t) GGUF_MAX_KEYS) {
            invalid("the header declares " + std::to_string(n_kv) + " metadata keys; at most " + std::to_string(GGUF_MAX_KEYS) + " are supported");
        }
        for (uint64_t i = 0; i < n_kv; i++) key_value(i);
        std::unordered_set<std::string> names;
        uint64_t data_size = 0;
        std::vector<std::pair<std::string, uint64_t>> ends;  // each tensor's end within the data section
        for (uint64_t i = 0; i < n_tensors; i++) {
            const std::string name = string("the name of tensor #" + std::to_string(i), GGML_MAX_NAME - 1);
            if (!names.insert(name).second) invalid("tensor '" + name + "' appears twice");
            const uint64_t bytes = tensor_info(name);
            const uint64_t offset = get<uint64_t>("the data offset of tensor '" + name + "'");
            if (offset != data_size) {
                invalid("tensor '" + name + "' starts at data offset " + std::to_string(offset) + ", expected " + std::to_string(data_size) +
                        " (tensors follow each other, aligned to " + std::to_string(alignment_) + " bytes)");
            }
            const uint64_t padded = bytes + (alignment_ - bytes % alignment_) % alignment_;
            if (padded < bytes || data_size + padded < data_size) invalid("the size of tensor '" + name + "' overflows");
            data_size += padded;
            ends.push_back({name, offset + bytes});
        }
        memory_ += n_tensors * 512;
        if (memory_ > GGUF_MAX_METADATA_BYTES) {
            invalid("its metadata would take " + format_bytes(memory_) + " in memory; at most " + format_bytes(GGUF_MAX_METADATA_BYTES) + " is supported");
        }
        if (n_tensors == 0) return;
        const uint64_t data_start = pos_ + (alignment_ - pos_ % alignment_) % alignment_;
        if (data_start > size_) invalid("the header ends at byte " + std::to_string(pos_) + " but the tensor data would start past the end of the file");
        for (const auto & [name, end] : ends) {
            if (end > size_ - data_start) {
                throw file_error(path_, "file is truncated: tensor '" + name + "' ends at byte " + std::to_string(data_start + end) +
                                        " but the file has " + std::to_string(size_) + " bytes");
            }
        }
    }

private:
    [[noreturn]] void invalid(const std::string & why) const { throw file_error(path_, "not a valid GGUF file: " + why); }

    uint64_t remaining() const { return size_ - pos_; }

    void take(void * dst, size_t n, const std::string & what) {
        if (n > remaining()) invalid("the file ends inside " + what + " (at byte " + std::to_string(size_) + "): is it truncated?");
        auto * out = static_cast<uint8_t *>(dst);
        while (n > 0) {
            if (pos_ < buf_pos_ || pos_ >= buf_pos_ + buf_len_) fill(what);
            const size_t at = (size_t) (pos_ - buf_pos_);
            const size_t k = std::min(n, buf_len_ - at);
            std::memcpy(out, buf_.data() + at, k);
            out += k;
            n -= k;
            pos_ += k;
        }
    }

    void fill(const std::string & what) {
        buf_pos_ = pos_;
        buf_len_ = 0;
        const size_t want = (size_t) std::min<uint64_t>(buf_.size(), remaining());
        while (buf_len_ < want) {
            const ssize_t got = ::pread(fd_, buf_.data() + buf_len_, want - buf_len_, (off_t) (buf_pos_ + buf_len_));
            if (got < 0 && errno == EINTR) continue;
            if (got < 0) throw file_error(path_, "could not read " + what + ": " + std::strerror(errno));
            if (got == 0) invalid("the file ends inside " + what + ": is it truncated, or being written?");
            buf_len_ += (size_t) got;
        }
    }

    void skip(uint64_t n, const std::string & what) {
        if (n > remaining()) invalid("the file ends inside " + what + ": is it truncated?");
        pos_ += n;
    }

    template <typename T>
    T get(const std::string & what) {
        T v;
        take(&v, sizeof(v), what);
        return v;
    }

    std::string string(const std::string & what, uint64_t max_len) {
        const uint64_t n = get<uint64_t>("the length of " + what);
        if (n > max_len) invalid(what + " is " + std::to_string(n) + " bytes long; at most " + std::to_string(max_len) + " are allowed");
        if (n > remaining()) invalid(what + " is " + std::to_string(n) + " bytes long, more than the rest of the file (" + std::to_string(remaining()) + " bytes)");
        std::string s((size_t) n, '\0');
        take(s.data(), (size_t) n, what);
        return s;
    }

    /** A string value: its length checked against the file, its bytes skipped. Returns the length. */
    uint64_t skip_string(const std::string & what) {
        const uint64_t n = get<uint64_t>(what);
        if (n > remaining()) {
            invalid(what + " holds a string of " + std::to_string(n) + " bytes, more than the rest of the file (" + std::to_string(remaining()) + " bytes)");
        }
        skip(n, what);
        return n;
    }

    void key_value(uint64_t i) {
        const std::string key = string("metadata key #" + std::to_string(i), GGUF_MAX_KEY_BYTES);
        if (key.empty()) invalid("metadata key #" + std::to_string(i) + " is empty");
        if (!keys_.insert(key).second) invalid("metadata key '" + key + "' appears twice");
        const std::string what = "metadata key '" + key + "'";
        uint32_t type = get<uint32_t>("the type of " + what);
        memory_ += 128 + key.size();
        if (type == GGUF_TYPE_ARRAY) {
            const uint32_t item = get<uint32_t>("the item type of " + what);
            if (item == GGUF_TYPE_ARRAY) invalid(what + " holds an array of arrays, which GGUF does not allow");
            if (item != GGUF_TYPE_STRING && scalar_size(item) == 0) invalid(what + " holds an array of unknown type " + std::to_string(item));
            const uint64_t n = get<uint64_t>("the length of " + what);
            const uint64_t min_item = item == GGUF_TYPE_STRING ? 8 : scalar_size(item);
            if (n > remaining() / min_item) {
                invalid(what + " holds an array of " + std::to_string(n) + " " + gguf_type_label(item) + " items, more than the rest of the file (" +
                        std::to_string(remaining()) + " bytes) can hold");
            }
            if (item == GGUF_TYPE_STRING) {
                const std::string each = "an item of " + what;  // built once: vocabularies have 100k items and more
                for (uint64_t k = 0; k < n; k++) memory_ += 32 + skip_string(each);
            } else {
                skip(n * min_item, what);
                memory_ += n * min_item;
            }
        } else if (type == GGUF_TYPE_STRING) {
            memory_ += 32 + skip_string(what);
        } else if (scalar_size(type) != 0) {
            if (key == "general.alignment") {
                if (type != GGUF_TYPE_UINT32) invalid("general.alignment must be a u32, not " + std::string(gguf_type_label(type)));
                const uint32_t a = get<uint32_t>(what);
                if (a == 0 || (a & (a - 1)) != 0) invalid("general.alignment must be a power of two, got " + std::to_string(a));
                alignment_ = a;
            } else {
                skip(scalar_size(type), what);
            }
        } else {
            invalid(what + " has unknown value type " + std::to_string(type));
        }
        if (memory_ > GGUF_MAX_METADATA_BYTES) {
            invalid("its metadata would take more than " + format_bytes(GGUF_MAX_METADATA_BYTES) + " in memory (at " + what + ")");
        }
    }

    /** A tensor's dimensions and type; returns its size in bytes. */
    uint64_t tensor_info(const std::string & name) {
        const std::string what = "tensor '" + name + "'";
        const uint32_t n_dims = get<uint32_t>("the dimension count of " + what);
        if (n_dims > GGML_MAX_DIMS) invalid(what + " has " + std::to_string(n_dims) + " dimensions; at most " + std::to_string(GGML_MAX_DIMS) + " are allowed");
        int64_t ne[GGML_MAX_DIMS] = {1, 1, 1, 1};
        for (uint32_t d = 0; d < n_dims; d++) {
            ne[d] = get<int64_t>("the shape of " + what);
            if (ne[d] < 0) invalid(what + " has a negative dimension (" + std::to_string(ne[d]) + ")");
        }
        std::string shape = "[";
        for (uint32_t d = 0; d < n_dims; d++) shape += (d ? ", " : "") + std::to_string(ne[d]);
        shape += "]";
        int64_t count = 1;
        for (int64_t n : ne) {
            if (__builtin_mul_overflow(count, n, &count)) invalid(what + " has shape " + shape + ", too many elements to count");
        }
        const int32_t type = get<int32_t>("the type of " + what);
        if (type < 0 || type >= GGML_TYPE_COUNT || ggml_blck_size((ggml_type) type) == 0) {
            invalid(what + " has unknown or removed type id " + std::to_string(type));
        }
        const int64_t block = ggml_blck_size((ggml_type) type);
        if (ne[0] % block != 0) {
            invalid(what + " of type " + ggml_type_name((ggml_type) type) + " has rows of " + std::to_string(ne[0]) +
                    " values, not a multiple of its block size " + std::to_string(block));
        }
        uint64_t bytes = 0;
        if (__builtin_mul_overflow((uint64_t) (count / block), (uint64_t) ggml_type_size((ggml_type) type), &bytes)) {
            invalid(what + " has shape " + shape + ", too large to hold in memory");
        }
        return bytes;
    }

    int fd_;
    uint64_t size_;
    std::string path_;
    std::vector<uint8_t> buf_;
    uint64_t buf_pos_ = 0;
    size_t buf_len_ = 0;
    uint64_t pos_ = 0;
    uint64_t alignment_ = GGUF_DEFAULT_ALIGNMENT;
    uint64_t memory_ = 0;
    std::unordered_set<std::string> keys_;
};

}  // namespace

std::runtime_error file_error(const std::string & path, const std::string & what) {
    return std::runtime_error(path + ": " + what);
}

std::string format_bytes(uint64_t bytes) {
    const char * units[] = {"bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
    double v = (double) bytes;
    int u = 0;
    while (v >= 1024 && u < 6) {
        v /= 1024;
        u++;
    }
    char out[64];
    if (u == 0) std::snprintf(out, sizeof(out), "%" PRIu64 " bytes", bytes);
    else std::snprintf(out, sizeof(out), "%.1f %s", v, units[u]);
    return out;
}

std::string shape_of(const ggml_tensor * t) {
    std::string s = "[";
    for (int i = 0; i < std::max(1, ggml_n_dims(t)); i++) s += (i ? ", " : "") + std::to_string(t->ne[i]);
    return s + "]";
}

GgufFile::~GgufFile() {
    if (fd >= 0) ::close(fd);
}

std::string GgufFile::str(const std::string & key) const {
    const int64_t id = gguf_find_key(g.get(), key.c_str());
    if (id < 0) return "";
    if (gguf_get_kv_type(g.get(), id) != GGUF_TYPE_STRING) {
        throw file_error(path, "metadata key '" + key + "' must be a string, not " + gguf_type_label(gguf_get_kv_type(g.get(), id)));
    }
    return gguf_get_val_str(g.get(), id);
}

std::optional<int64_t> GgufFile::integer(const std::string & key) const {
    const int64_t id = gguf_find_key(g.get(), key.c_str());
    if (id < 0) return std::nullopt;
    switch (gguf_get_kv_type(g.get(), id)) {
        case GGUF_TYPE_UINT8: return gguf_get_val_u8(g.get(), id);
        case GGUF_TYPE_INT8: return gguf_get_val_i8(g.get(), id);
        case GGUF_TYPE_UINT16: return gguf_get_val_u16(g.get(), id);
        case GGUF_TYPE_INT16: return gguf_get_val_i16(g.get(), id);
        case GGUF_TYPE_UINT32: return gguf_get_val_u32(g.get(), id);
        case GGUF_TYPE_INT32: return gguf_get_val_i32(g.get(), id);
        case GGUF_TYPE_INT64: return gguf_get_val_i64(g.get(), id);
        case GGUF_TYPE_UINT64: {
            const uint64_t v = gguf_get_val_u64(g.get(), id);
            if (v > (uint64_t) INT64_MAX) throw file_error(path, "metadata key '" + key + "' is " + std::to_string(v) + ", far too large");
            return (int64_t) v;
        }
        default:
            throw file_error(path, "metadata key '" + key + "' must be an integer, not " + gguf_type_label(gguf_get_kv_type(g.get(), id)));
    }
}

std::optional<double> GgufFile::number(const std::string & key) const {
    const int64_t id = gguf_find_key(g.get(), key.c_str());
    if (id < 0) return std::nullopt;
    switch (gguf_get_kv_type(g.get(), id)) {
        case GGUF_TYPE_FLOAT32: return gguf_get_val_f32(g.get(), id);
        case GGUF_TYPE_FLOAT64: return gguf_get_val_f64(g.get(), id);
        default:
            throw file_error(path, "metadata key '" + key + "' must be a number (f32 or f64), not " + gguf_type_label(gguf_get_kv_type(g.get(), id)));
    }
}

std::optional<uint64_t> GgufFile::array_length(const std::string & key, gguf_type type) const {
    const int64_t id = gguf_find_key(g.get(), key.c_str());
    if (id < 0) return std::nullopt;
    if (gguf_get_kv_type(g.get(), id) != GGUF_TYPE_ARRAY || gguf_get_arr_type(g.get(), id) != type) {
        throw file_error(path, "metadata key '" + key + "' must be an array of " + gguf_type_label(type));
    }
    return gguf_get_arr_n(g.get(), id);
}

void GgufFile::read(void * dst, size_t n, uint64_t offset, const std::string & what) const {
    auto * p = static_cast<uint8_t *>(dst);
    while (n > 0) {
        const ssize_t got = ::pread(fd, p, n, (off_t) offset);
        if (got < 0 && errno == EINTR) continue;
        if (got < 0) throw file_error(path, "could not read " + what + ": " + std::strerror(errno));
        if (got == 0) throw file_error(path, "could not read " + what + ": the file ends early (truncated?)");
        p += got;
        n -= (size_t) got;
        offset += (uint64_t) got;
    }
}

void GgufFile::read_tensor(const ggml_tensor * t, void * dst) const {
    const int64_t id = gguf_find_tensor(g.get(), t->name);
    if (id < 0) throw file_error(path, std::string("no tensor '") + t->name + "'");
    read(dst, ggml_nbytes(t), start(id), std::string("tensor '") + t->name + "'");
}

std::unique_ptr<GgufFile> open_gguf(const std::string & path, const std::string & what) {
    // O_NONBLOCK: opening a FIFO returns at once instead of waiting for a writer; fstat then refuses it.
    const int fd = ::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) throw file_error(path, open_error(errno));
    auto f = std::make_unique<GgufFile>();
    f->fd = fd;
    f->path = path;
    struct stat st;
    if (::fstat(fd, &st) != 0) throw file_error(path, std::string("cannot read the ") + what + ": " + std::strerror(errno));
    if (!S_ISREG(st.st_mode)) throw file_error(path, "the " + what + " is " + kind_of(st.st_mode) + ", not a regular file");
    const int flags = ::fcntl(fd, F_GETFL);
    if (flags >= 0) ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    f->size = (uint64_t) st.st_size;
    f->dev = st.st_dev;
    f->ino = st.st_ino;

    HeaderScan(fd, f->size, path).run();

    // gguf reads through its own FILE: a duplicate of our descriptor, so the file checked is the file parsed.
    const int dup_fd = ::dup(fd);
    FILE * stream = dup_fd >= 0 ? ::fdopen(dup_fd, "rb") : nullptr;
    if (!stream) {
        if (dup_fd >= 0) ::close(dup_fd);
        throw file_error(path, std::string("cannot read the ") + what + ": " + std::strerror(errno));
    }
    ggml_context * meta = nullptr;
    f->g.reset(gguf_init_from_file_ptr(stream, {/*no_alloc*/ true, &meta}));
    std::fclose(stream);
    f->meta.reset(meta);
    if (!f->g || !f->meta) {
        throw file_error(path, "not a valid GGUF file (unreadable header or metadata; is it truncated or another format?)");
    }
    f->data_offset = gguf_get_data_offset(f->g.get());
    for (int64_t i = 0; i < f->n_tensors(); i++) {
        const uint64_t off = gguf_get_tensor_offset(f->g.get(), i), bytes = gguf_get_tensor_size(f->g.get(), i);
        if (f->data_offset > f->size || off > f->size - f->data_offset || bytes > f->size - f->data_offset - off) {
            throw file_error(path, "file is truncated: tensor '" + std::string(gguf_get_tensor_name(f->g.get(), i)) + "' ends past the end of the file (" +
                                   std::to_string(f->size) + " bytes)");
        }
    }
    return f;
}

uint64_t physical_memory() {
    const long pages = ::sysconf(_SC_PHYS_PAGES), page = ::sysconf(_SC_PAGE_SIZE);
    return pages > 0 && page > 0 ? (uint64_t) pages * (uint64_t) page : 0;
}

void check_host_memory(const std::string & path, uint64_t bytes, const std::string & what) {
    const uint64_t total = physical_memory();
    if (total != 0 && bytes > total) {
        throw file_error(path, what + " would need " + format_bytes(bytes) + " of memory, more than this machine has (" + format_bytes(total) + ")");
    }
}
