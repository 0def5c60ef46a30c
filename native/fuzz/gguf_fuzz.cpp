// libFuzzer harness for the trainer's GGUF readers (native/src/gguf_file.cpp, model_file.cpp, adapter_file.cpp,
// merge.cpp), built against ggml's own sources by native/fuzz/run.sh. Each input is written to a file and read
// the ways the app reads a file a user hands it: as a base model, as a LoRA adapter for the seed model, and on
// both sides of a merge. Refusing it (std::runtime_error) is the expected outcome; anything else (an abort in
// ggml, an ASan report, a leak, a huge allocation, a timeout) is a finding.
//
// Environment: GGUF_FUZZ_MODEL and GGUF_FUZZ_ADAPTER, a valid model and an adapter made for it (run.sh writes
// both with tests/helpers/tinyModel.ts); GGUF_FUZZ_DIR, a scratch folder (tmpfs is fastest).
#include <unistd.h>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include "adapter_file.h"
#include "merge.h"
#include "model_file.h"

namespace {

std::string model_path, adapter_path, input_path, out_path;
Hparams seed_hparams;

void quiet(ggml_log_level, const char *, void *) {}

std::string env(const char * name) {
    const char * v = std::getenv(name);
    if (!v || !*v) {
        std::fprintf(stderr, "gguf_fuzz: set %s (native/fuzz/run.sh does)\n", name);
        std::exit(2);
    }
    return v;
}

void write_input(const uint8_t * data, size_t size) {
    FILE * f = std::fopen(input_path.c_str(), "wb");
    if (!f || (size && std::fwrite(data, 1, size, f) != size) || std::fclose(f) != 0) {
        std::perror(input_path.c_str());
        std::abort();
    }
}

/** Runs one reader; a std::runtime_error is a refusal, which is fine. Anything else thrown is a finding. */
template <typename F>
void refusal_ok(F && read) {
    try {
        read();
    } catch (const std::runtime_error & e) {
        // The one rule for every message: it names the file it is about.
        const std::string what = e.what();
        if (what.find(model_path) == std::string::npos && what.find(adapter_path) == std::string::npos &&
            what.find(input_path) == std::string::npos && what.find(out_path) == std::string::npos) {
            std::fprintf(stderr, "gguf_fuzz: an error that names no file: %s\n", what.c_str());
            std::abort();
        }
    }
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int *, char ***) {
    ggml_log_set(quiet, nullptr);
    model_path = env("GGUF_FUZZ_MODEL");
    adapter_path = env("GGUF_FUZZ_ADAPTER");
    const std::string dir = env("GGUF_FUZZ_DIR");
    input_path = dir + "/input-" + std::to_string(getpid()) + ".gguf";
    out_path = dir + "/merged-" + std::to_string(getpid()) + ".gguf";
    try {
        seed_hparams = inspect_model(model_path).hp;
        inspect_adapter(adapter_path, seed_hparams);
    } catch (const std::exception & e) {
        std::fprintf(stderr, "gguf_fuzz: the seed files must be valid: %s\n", e.what());
        std::exit(2);
    }
    return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t * data, size_t size) {
    write_input(data, size);
    refusal_ok([&] { inspect_model(input_path); });
    refusal_ok([&] {
        const AdapterFile ad = inspect_adapter(input_path, seed_hparams);
        for (const AdapterPair & p : ad.pairs) {
            read_lora_values(*ad.file, p.a);
            read_lora_values(*ad.file, p.b);
        }
    });
    MergeOptions options;
    options.threads = 1;
    ::unlink(out_path.c_str());
    refusal_ok([&] { merge_adapter(model_path, input_path, out_path, options); });
    ::unlink(out_path.c_str());
    refusal_ok([&] { merge_adapter(input_path, adapter_path, out_path, options); });
    ::unlink(out_path.c_str());
    return 0;
}
