// Writing tensors that may live on a GPU into a GGUF file, atomically.
#pragma once
#include <functional>
#include <string>
#include <utility>
#include <vector>
#include "ggml.h"
#include "gguf.h"

/** Writes `path + ".tmp"` then renames it over `path`; `set_keys` adds the metadata. Throws on failure. */
void write_gguf_atomic(const std::string & path, const std::function<void(gguf_context *)> & set_keys,
                       const std::vector<std::pair<std::string, ggml_tensor *>> & tensors);
