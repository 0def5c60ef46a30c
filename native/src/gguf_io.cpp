#include "gguf_io.h"
#include <fcntl.h>
#include <unistd.h>
#include <cstdio>
#include <memory>
#include <stdexcept>
#include "ggml-backend.h"

namespace {

// fsync a file, or a folder (whose entries a rename changed; some filesystems refuse, which is not an error).
bool sync_to_disk(const std::string & path, bool folder) {
    const int fd = ::open(path.c_str(), folder ? O_RDONLY : O_RDWR);
    if (fd < 0) return folder;
    const bool ok = ::fsync(fd) == 0 || folder;
    ::close(fd);
    return ok;
}

}  // namespace

void write_gguf_atomic(const std::string & path, const std::function<void(gguf_context *)> & set_keys,
                       const std::vector<std::pair<std::string, ggml_tensor *>> & tensors) {
    struct GgufCloser { void operator()(gguf_context * c) const { gguf_free(c); } };
    struct CtxCloser { void operator()(ggml_context * c) const { ggml_free(c); } };
    std::unique_ptr<gguf_context, GgufCloser> g(gguf_init_empty());
    set_keys(g.get());
    // Host copies: gguf writes from host memory, and the tensors may live on a GPU.
    size_t bytes = ggml_tensor_overhead() * (tensors.size() + 1);
    for (const auto & [name, t] : tensors) bytes += ggml_nbytes(t) + GGML_MEM_ALIGN;
    std::unique_ptr<ggml_context, CtxCloser> host(ggml_init({bytes, nullptr, false}));
    if (!host) throw std::runtime_error(path + ": out of memory while saving");
    for (const auto & [name, t] : tensors) {
        ggml_tensor * c = ggml_dup_tensor(host.get(), t);
        ggml_set_name(c, name.c_str());
        ggml_backend_tensor_get(t, c->data, 0, ggml_nbytes(t));
        gguf_add_tensor(g.get(), c);
    }
    const std::string tmp = path + ".tmp";
    if (!gguf_write_to_file(g.get(), tmp.c_str(), false)) {
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": could not write (is the folder writable and the disk not full?)");
    }
    // On disk before the rename, and the rename on disk after it: a power cut leaves the old file or the new one.
    if (!sync_to_disk(tmp, false)) {
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": could not flush the file to disk (is the disk full or failing?)");
    }
    if (std::rename(tmp.c_str(), path.c_str()) != 0) {
        std::remove(tmp.c_str());
        throw std::runtime_error(path + ": could not move the finished file into place");
    }
    const size_t slash = path.find_last_of('/');
    sync_to_disk(slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash), true);
}
