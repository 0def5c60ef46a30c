// Node-API surface of the trainer. Heavy work runs on libuv's thread pool (AsyncWorker); every C++ error
// becomes a rejected promise or a thrown JS Error, never an abort. Typed in native/addon-types.ts.
#include <napi.h>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>
#include "backend.h"
#include "graph.h"
#include "lora.h"
#include "model.h"

namespace {

struct AddonData {
    Napi::FunctionReference model_ctor;
    Napi::FunctionReference adapter_ctor;
};

// ggml prints info lines (backend loading and the like) that a CLI user should not see; warnings and errors stay.
void quiet_log(ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

class ModelWrap : public Napi::ObjectWrap<ModelWrap> {
public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "AddonModel", {
            InstanceMethod("info", &ModelWrap::Info),
            InstanceMethod("forward", &ModelWrap::Forward),
            InstanceMethod("dispose", &ModelWrap::Dispose),
        });
    }
    explicit ModelWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<ModelWrap>(info) {
        if (info.Length() != 1 || !info[0].IsExternal()) {
            throw Napi::TypeError::New(info.Env(), "AddonModel is created by loadModel()");
        }
        model = *info[0].As<Napi::External<std::shared_ptr<Model>>>().Data();
    }
    std::shared_ptr<Model> model;

    std::shared_ptr<Model> live(Napi::Env env) {
        if (!model) throw Napi::Error::New(env, "the model was disposed");
        return model;
    }

private:
    Napi::Value Info(const Napi::CallbackInfo & info) {
        auto m = live(info.Env());
        Napi::Env env = info.Env();
        Napi::Object o = Napi::Object::New(env);
        o.Set("architecture", m->hp.arch);
        o.Set("name", m->hp.name);
        o.Set("vocabSize", (double) m->hp.n_vocab);
        o.Set("embeddingLength", (double) m->hp.n_embd);
        o.Set("layerCount", (double) m->hp.n_layer);
        o.Set("headCount", (double) m->hp.n_head);
        o.Set("headCountKv", (double) m->hp.n_head_kv);
        o.Set("feedForwardLength", (double) m->hp.n_ff);
        o.Set("contextLength", (double) m->hp.n_ctx_train);
        o.Set("ropeFreqBase", m->hp.rope_freq_base);
        o.Set("rmsEpsilon", m->hp.rms_eps);
        o.Set("weightType", ggml_type_name(m->main_type));
        o.Set("weightsBytes", (double) m->weights_bytes);
        o.Set("device", m->backends.device_name);
        o.Set("threads", m->backends.threads);
        return o;
    }

    Napi::Value Forward(const Napi::CallbackInfo & info);

    Napi::Value Dispose(const Napi::CallbackInfo & info) {
        model.reset();  // freed once running work and adapters let go of it
        return info.Env().Undefined();
    }
};

class AdapterWrap : public Napi::ObjectWrap<AdapterWrap> {
public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "AddonAdapter", {
            InstanceMethod("info", &AdapterWrap::Info),
            InstanceMethod("save", &AdapterWrap::Save),
            InstanceMethod("dispose", &AdapterWrap::Dispose),
        });
    }
    explicit AdapterWrap(const Napi::CallbackInfo & info) : Napi::ObjectWrap<AdapterWrap>(info) {
        if (info.Length() != 1 || !info[0].IsExternal()) {
            throw Napi::TypeError::New(info.Env(), "AddonAdapter is created by createAdapter() or loadAdapter()");
        }
        adapter = *info[0].As<Napi::External<std::shared_ptr<Adapter>>>().Data();
    }
    std::shared_ptr<Adapter> adapter;

    std::shared_ptr<Adapter> live(Napi::Env env) {
        if (!adapter) throw Napi::Error::New(env, "the adapter was disposed");
        return adapter;
    }

private:
    Napi::Value Info(const Napi::CallbackInfo & info) {
        auto a = live(info.Env());
        Napi::Env env = info.Env();
        Napi::Object o = Napi::Object::New(env);
        o.Set("rank", a->rank);
        o.Set("alpha", a->alpha);
        o.Set("scale", a->scale());
        o.Set("parameterCount", (double) a->n_params);
        Napi::Array targets = Napi::Array::New(env, a->targets.size());
        for (size_t i = 0; i < a->targets.size(); i++) targets.Set(i, a->targets[i]);
        o.Set("targets", targets);
        return o;
    }
    Napi::Value Save(const Napi::CallbackInfo & info);
    Napi::Value Dispose(const Napi::CallbackInfo & info) {
        adapter.reset();
        return info.Env().Undefined();
    }
};

/** An AsyncWorker that settles a promise: Run() fills the result, Resolve() turns it into a JS value. */
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
public:
    PromiseWorker(Napi::Env env, std::function<Result()> run, std::function<Napi::Value(Napi::Env, Result &)> resolve)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), run_(std::move(run)), resolve_(std::move(resolve)) {}
    Napi::Promise Promise() { return deferred_.Promise(); }

protected:
    void Execute() override {
        try {
            result_ = run_();
        } catch (const std::exception & e) {
            SetError(e.what());
        } catch (...) {
            SetError("unknown native error");
        }
    }
    void OnOK() override {
        Napi::Env env = Env();
        try {
            deferred_.Resolve(resolve_(env, result_));
        } catch (const Napi::Error & e) {
            deferred_.Reject(e.Value());
        }
    }
    void OnError(const Napi::Error & e) override { deferred_.Reject(e.Value()); }

private:
    Napi::Promise::Deferred deferred_;
    std::function<Result()> run_;
    std::function<Napi::Value(Napi::Env, Result &)> resolve_;
    Result result_{};
};

template <typename Result>
Napi::Value run_async(Napi::Env env, std::function<Result()> run, std::function<Napi::Value(Napi::Env, Result &)> resolve) {
    auto * worker = new PromiseWorker<Result>(env, std::move(run), std::move(resolve));
    Napi::Promise promise = worker->Promise();
    worker->Queue();
    return promise;
}

std::string string_arg(const Napi::CallbackInfo & info, size_t i, const char * name) {
    if (info.Length() <= i || !info[i].IsString()) throw Napi::TypeError::New(info.Env(), std::string(name) + " must be a string");
    return info[i].As<Napi::String>().Utf8Value();
}

Napi::Object wrap_adapter(Napi::Env env, std::shared_ptr<Adapter> a) {
    auto * data = env.GetInstanceData<AddonData>();
    return data->adapter_ctor.New({Napi::External<std::shared_ptr<Adapter>>::New(env, &a)});
}

Napi::Value ModelWrap::Forward(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto m = live(env);
    if (info.Length() < 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw Napi::TypeError::New(env, "tokens must be an Int32Array");
    }
    Napi::Int32Array arr = info[0].As<Napi::Int32Array>();
    std::vector<int32_t> tokens(arr.Data(), arr.Data() + arr.ElementLength());
    std::shared_ptr<Adapter> adapter;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object obj = info[1].As<Napi::Object>();
        if (!obj.InstanceOf(env.GetInstanceData<AddonData>()->adapter_ctor.Value())) throw Napi::TypeError::New(env, "adapter must be an AddonAdapter");
        adapter = AdapterWrap::Unwrap(obj)->live(env);
    }
    return run_async<std::vector<float>>(
        env, [m, adapter, tokens]() { return forward_logprobs(*m, adapter.get(), tokens); },
        [](Napi::Env e, std::vector<float> & out) {
            Napi::Float32Array result = Napi::Float32Array::New(e, out.size());
            std::copy(out.begin(), out.end(), result.Data());
            return result;
        });
}

Napi::Value AdapterWrap::Save(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto a = live(env);
    std::string path = string_arg(info, 0, "path");
    return run_async<bool>(env, [a, path]() { a->save(path); return true; }, [](Napi::Env e, bool &) { return e.Undefined(); });
}

Napi::Value LoadBackends(const Napi::CallbackInfo & info) {
    std::string dir = string_arg(info, 0, "dir");
    try {
        load_backends(dir);
    } catch (const std::exception & e) {
        throw Napi::Error::New(info.Env(), e.what());
    }
    return info.Env().Undefined();
}

Napi::Value ListDevices(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto devices = list_devices();
    Napi::Array out = Napi::Array::New(env, devices.size());
    for (size_t i = 0; i < devices.size(); i++) {
        Napi::Object o = Napi::Object::New(env);
        o.Set("name", devices[i].name);
        o.Set("description", devices[i].description);
        o.Set("type", devices[i].type);
        o.Set("freeBytes", (double) devices[i].free);
        o.Set("totalBytes", (double) devices[i].total);
        out.Set(i, o);
    }
    return out;
}

Napi::Value LoadModel(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::string path = string_arg(info, 0, "path");
    LoadOptions options;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object o = info[1].As<Napi::Object>();
        if (o.Has("device") && o.Get("device").IsString()) options.device = o.Get("device").As<Napi::String>().Utf8Value();
        if (o.Has("threads") && o.Get("threads").IsNumber()) options.threads = o.Get("threads").As<Napi::Number>().Int32Value();
    }
    return run_async<std::shared_ptr<Model>>(
        env, [path, options]() { return Model::load(path, options); },
        [](Napi::Env e, std::shared_ptr<Model> & m) {
            return e.GetInstanceData<AddonData>()->model_ctor.New({Napi::External<std::shared_ptr<Model>>::New(e, &m)});
        });
}

std::shared_ptr<Model> model_arg(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(env.GetInstanceData<AddonData>()->model_ctor.Value())) {
        throw Napi::TypeError::New(env, "model must be an AddonModel");
    }
    return ModelWrap::Unwrap(info[0].As<Napi::Object>())->live(env);
}

Napi::Value CreateAdapter(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto m = model_arg(info);
    if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    LoraConfig config;
    config.rank = o.Get("rank").ToNumber().Int32Value();
    config.alpha = o.Get("alpha").ToNumber().FloatValue();
    config.seed = (uint64_t) o.Get("seed").ToNumber().Int64Value();
    Napi::Value targets = o.Get("targets");
    if (!targets.IsArray()) throw Napi::TypeError::New(env, "targets must be an array of module names");
    Napi::Array arr = targets.As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); i++) config.targets.push_back(arr.Get(i).ToString().Utf8Value());
    try {
        return wrap_adapter(env, Adapter::create(m, config));
    } catch (const std::exception & e) {
        throw Napi::Error::New(env, e.what());
    }
}

Napi::Value LoadAdapter(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto m = model_arg(info);
    std::string path = string_arg(info, 1, "path");
    return run_async<std::shared_ptr<Adapter>>(
        env, [m, path]() { return Adapter::load(m, path); },
        [](Napi::Env e, std::shared_ptr<Adapter> & a) { return wrap_adapter(e, a); });
}

Napi::Value Quantize(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::string type_name = string_arg(info, 0, "type");
    if (info.Length() < 3 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array || !info[2].IsNumber()) {
        throw Napi::TypeError::New(env, "quantize(type, Float32Array, rowLength)");
    }
    Napi::Float32Array src = info[1].As<Napi::Float32Array>();
    const int64_t row = info[2].As<Napi::Number>().Int64Value();
    ggml_type type = GGML_TYPE_COUNT;
    for (int t = 0; t < GGML_TYPE_COUNT; t++) {
        const char * name = ggml_type_name((ggml_type) t);
        if (name && type_name == name) type = (ggml_type) t;
    }
    if (type == GGML_TYPE_COUNT) throw Napi::Error::New(env, "unknown ggml type '" + type_name + "'");
    const int64_t block = ggml_blck_size(type);
    if (row <= 0 || row % block != 0 || (int64_t) src.ElementLength() % row != 0) {
        throw Napi::Error::New(env, "row length must divide the data and be a multiple of " + std::to_string(block) + " for " + type_name);
    }
    if (ggml_quantize_requires_imatrix(type)) throw Napi::Error::New(env, type_name + " needs an importance matrix");
    const int64_t rows = (int64_t) src.ElementLength() / row;
    Napi::Uint8Array out = Napi::Uint8Array::New(env, ggml_row_size(type, row) * rows);
    ggml_quantize_chunk(type, src.Data(), out.Data(), 0, rows, row, nullptr);
    return out;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    ggml_log_set(quiet_log, nullptr);
    auto * data = new AddonData();
    data->model_ctor = Napi::Persistent(ModelWrap::Define(env));
    data->adapter_ctor = Napi::Persistent(AdapterWrap::Define(env));
    env.SetInstanceData(data);
    exports.Set("loadBackends", Napi::Function::New(env, LoadBackends));
    exports.Set("listDevices", Napi::Function::New(env, ListDevices));
    exports.Set("loadModel", Napi::Function::New(env, LoadModel));
    exports.Set("createAdapter", Napi::Function::New(env, CreateAdapter));
    exports.Set("loadAdapter", Napi::Function::New(env, LoadAdapter));
    exports.Set("quantize", Napi::Function::New(env, Quantize));
    exports.Set("loraModules", [&env]() {
        Napi::Array a = Napi::Array::New(env, lora_modules().size());
        for (size_t i = 0; i < lora_modules().size(); i++) a.Set(i, lora_modules()[i]);
        return a;
    }());
    return exports;
}

}  // namespace

NODE_API_MODULE(architect_trainer, Init)
