#include "adapter_file.h"
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>

namespace {

std::string num(double v) {
    char out[32];
    std::snprintf(out, sizeof(out), "%g", v);
    return out;
}

/** Types a LoRA tensor may be stored in: any ggml can widen to F32 (f32, f16, bf16, the quantized ones). */
bool readable(ggml_type t) {
    if (t == GGML_TYPE_F32) return true;
    if (t == GGML_TYPE_I8 || t == GGML_TYPE_I16 || t == GGML_TYPE_I32 || t == GGML_TYPE_I64 || t == GGML_TYPE_F64) return false;
    const ggml_type_traits * traits = ggml_get_type_traits(t);
    return traits && traits->to_float != nullptr;
}

}  // namespace

AdapterFile inspect_adapter(const std::string & path, const Hparams & hp) {
    AdapterFile ad;
    ad.file = open_gguf(path, "adapter");
    const GgufFile & f = *ad.file;
    auto fail = [&](const std::string & what) { return file_error(path, what); };
    if (f.str("general.type") != "adapter" || f.str("adapter.type") != "lora") {
        throw fail("not a LoRA adapter (general.type must be 'adapter', adapter.type 'lora')");
    }
    const std::string arch = f.str("general.architecture");
    if (arch != hp.arch) throw fail("adapter is for architecture '" + arch + "', the model is '" + hp.arch + "'");
    if (const std::optional<double> alpha = f.number("adapter.lora.alpha")) {
        if (!std::isfinite((float) *alpha) || *alpha < 0) throw fail("adapter.lora.alpha is " + num(*alpha) + "; it must be a finite number ≥ 0");
        ad.alpha = (float) *alpha;
    }

    std::map<std::string, bool> used;  // tensor name → belongs to a pair
    for (int64_t i = 0; i < f.n_tensors(); i++) used[gguf_get_tensor_name(f.g.get(), i)] = false;
    std::string first_pair;
    for (int64_t il = 0; il < hp.n_layer; il++) {
        for (const std::string & module : lora_modules()) {
            const std::string w = target_name(module, il);
            ggml_tensor * a = f.tensor(w + ".lora_a");
            ggml_tensor * b = f.tensor(w + ".lora_b");
            if (!a && !b) continue;
            if (!a || !b) throw fail("tensor " + w + " has only one of lora_a and lora_b");
            const auto [n_in, n_out] = target_shape(hp, module);
            const int64_t r = a->ne[1];
            const bool two_d = ggml_n_dims(a) <= 2 && ggml_n_dims(b) <= 2;
            if (!two_d || a->ne[0] != n_in || b->ne[1] != n_out || b->ne[0] != r) {
                throw fail("adapter was made for another model: " + w + " is [" + std::to_string(n_in) + ", " + std::to_string(n_out) + "] but lora_a is " +
                           shape_of(a) + " and lora_b " + shape_of(b));
            }
            if (r < 1 || r > MAX_LORA_RANK) throw fail("tensor '" + w + ".lora_a' has rank " + std::to_string(r) + "; a LoRA rank must be from 1 to " + std::to_string(MAX_LORA_RANK));
            if (ad.rank != 0 && ad.rank != r) {
                throw fail("tensors have different ranks: " + first_pair + " has rank " + std::to_string(ad.rank) + ", " + w + " rank " + std::to_string(r));
            }
            for (const ggml_tensor * t : {a, b}) {
                if (!readable(t->type)) throw fail(std::string("tensor ") + t->name + " has unsupported type " + ggml_type_name(t->type));
            }
            if (ad.rank == 0) first_pair = w;
            ad.rank = (int) r;
            used[a->name] = used[b->name] = true;
            ad.pairs.push_back({il, module, a, b});
            ad.f32_bytes += 4 * (uint64_t) (ggml_nelements(a) + ggml_nelements(b));
        }
    }
    if (ad.pairs.empty()) throw fail("no LoRA tensors match this model's weights (made for another model?)");
    for (const auto & [name, in_pair] : used) {
        if (!in_pair) throw fail("tensor '" + name + "' matches no weight of this model (made for another model, or an unsupported LoRA target)");
    }
    for (const std::string & m : lora_modules()) {
        for (const AdapterPair & p : ad.pairs) {
            if (p.module != m) continue;
            ad.targets.push_back(m);
            break;
        }
    }
    check_host_memory(path, ad.f32_bytes, "the adapter's tensors");
    return ad;
}

std::vector<float> read_lora_values(const GgufFile & file, const ggml_tensor * t) {
    std::vector<uint8_t> raw(ggml_nbytes(t));
    file.read_tensor(t, raw.data());
    std::vector<float> out((size_t) ggml_nelements(t));
    if (t->type == GGML_TYPE_F32) std::memcpy(out.data(), raw.data(), raw.size());
    else ggml_get_type_traits(t->type)->to_float(raw.data(), out.data(), ggml_nelements(t));
    for (size_t i = 0; i < out.size(); i++) {
        if (!std::isfinite(out[i])) throw file_error(file.path, std::string("tensor '") + t->name + "' holds NaN or infinite values");
    }
    return out;
}
