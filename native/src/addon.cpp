// Node-API surface of the trainer. Heavy work runs on libuv's thread pool (AsyncWorker); every C++ error
// becomes a rejected promise or a thrown JS Error, never an abort. Typed in native/addon-types.ts.
#include <napi.h>
#include <algorithm>
#include <climits>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>
#include "backend.h"
#include "graph.h"
#include "lora.h"
#include "merge.h"
#include "model.h"
#include "train.h"

namespace {

struct AddonData {
    Napi::FunctionReference model_ctor;
    Napi::FunctionReference adapter_ctor;
    Napi::FunctionReference session_ctor;
};

// ggml prints info lines (backend loading and the like) that a CLI user should not see; warnings and errors stay.
void quiet_log(ggml_log_level level, const char * text, void *) {
    if (level == GGML_LOG_LEVEL_WARN || level == GGML_LOG_LEVEL_ERROR) fputs(text, stderr);
}

/**
 * A JS object owning one native handle (shared, so running work and dependents keep it alive).
 * `dispose()` drops this reference; later calls throw "the <what> was disposed".
 */
template <typename Self, typename T>
class HandleWrap : public Napi::ObjectWrap<Self> {
public:
    HandleWrap(const Napi::CallbackInfo & info, const char * factory) : Napi::ObjectWrap<Self>(info) {
        if (info.Length() != 1 || !info[0].IsExternal()) throw Napi::TypeError::New(info.Env(), std::string("created by ") + factory);
        handle = *info[0].template As<Napi::External<std::shared_ptr<T>>>().Data();
    }
    std::shared_ptr<T> live(Napi::Env env) const {
        if (!handle) throw Napi::Error::New(env, std::string("the ") + Self::what + " was disposed");
        return handle;
    }
    Napi::Value Dispose(const Napi::CallbackInfo & info) {
        handle.reset();
        return info.Env().Undefined();
    }
    std::shared_ptr<T> handle;
};

class ModelWrap : public HandleWrap<ModelWrap, Model> {
public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "AddonModel", {
            InstanceMethod("info", &ModelWrap::Info),
            InstanceMethod("forward", &ModelWrap::Forward),
            InstanceMethod("dispose", &ModelWrap::Dispose),
        });
    }
    static constexpr const char * what = "model";
    explicit ModelWrap(const Napi::CallbackInfo & info) : HandleWrap(info, "loadModel()") {}

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

};

class AdapterWrap : public HandleWrap<AdapterWrap, Adapter> {
public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "AddonAdapter", {
            InstanceMethod("info", &AdapterWrap::Info),
            InstanceMethod("save", &AdapterWrap::Save),
            InstanceMethod("tensorNames", &AdapterWrap::TensorNames),
            InstanceMethod("getTensor", &AdapterWrap::GetTensor),
            InstanceMethod("setTensor", &AdapterWrap::SetTensor),
            InstanceMethod("dispose", &AdapterWrap::Dispose),
        });
    }
    static constexpr const char * what = "adapter";
    explicit AdapterWrap(const Napi::CallbackInfo & info) : HandleWrap(info, "createAdapter() or loadAdapter()") {}

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
    Napi::Value TensorNames(const Napi::CallbackInfo & info) {
        auto a = live(info.Env());
        auto tensors = a->tensors();
        Napi::Array out = Napi::Array::New(info.Env(), tensors.size());
        for (size_t i = 0; i < tensors.size(); i++) out.Set(i, tensors[i].first);
        return out;
    }
    Napi::Value GetTensor(const Napi::CallbackInfo & info);
    Napi::Value SetTensor(const Napi::CallbackInfo & info);
};

class SessionWrap : public HandleWrap<SessionWrap, TrainingSession> {
public:
    static Napi::Function Define(Napi::Env env) {
        return DefineClass(env, "AddonTrainingSession", {
            InstanceMethod("accumulate", &SessionWrap::Accumulate),
            InstanceMethod("evaluate", &SessionWrap::Evaluate),
            InstanceMethod("step", &SessionWrap::Step),
            InstanceMethod("gradient", &SessionWrap::Gradient),
            InstanceMethod("saveOptimizer", &SessionWrap::SaveOptimizer),
            InstanceMethod("loadOptimizer", &SessionWrap::LoadOptimizer),
            InstanceMethod("memory", &SessionWrap::Memory),
            InstanceMethod("dispose", &SessionWrap::Dispose),
        });
    }
    static constexpr const char * what = "training session";
    explicit SessionWrap(const Napi::CallbackInfo & info) : HandleWrap(info, "createTrainingSession()") {}

private:
    Napi::Value Accumulate(const Napi::CallbackInfo & info);
    Napi::Value Evaluate(const Napi::CallbackInfo & info);
    Napi::Value Step(const Napi::CallbackInfo & info);
    Napi::Value Gradient(const Napi::CallbackInfo & info);
    Napi::Value SaveOptimizer(const Napi::CallbackInfo & info);
    Napi::Value LoadOptimizer(const Napi::CallbackInfo & info);
    Napi::Value Memory(const Napi::CallbackInfo & info) {
        auto s = live(info.Env());
        Napi::Object o = Napi::Object::New(info.Env());
        o.Set("stateBytes", (double) s->state_bytes());
        o.Set("computeBytes", (double) s->compute_bytes());
        o.Set("peakComputeBytes", (double) s->peak_compute_bytes());
        o.Set("adamSteps", (double) s->adam_steps());
        auto ops = s->cpu_fallback_ops();
        Napi::Array fallback = Napi::Array::New(info.Env(), ops.size());
        for (size_t i = 0; i < ops.size(); i++) fallback.Set(i, ops[i]);
        o.Set("cpuFallbackOps", fallback);
        return o;
    }
};

/** An AsyncWorker that settles a promise: Run() fills the result, Resolve() turns it into a JS value. */
template <typename Result>
class PromiseWorker : public Napi::AsyncWorker {
public:
    PromiseWorker(Napi::Env env, std::function<Result()> run, std::function<Napi::Value(Napi::Env, Result &)> resolve,
                  std::function<void()> on_error)
        : Napi::AsyncWorker(env), deferred_(Napi::Promise::Deferred::New(env)), run_(std::move(run)), resolve_(std::move(resolve)),
          on_error_(std::move(on_error)) {}
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
    void OnError(const Napi::Error & e) override {
        if (on_error_) on_error_();
        deferred_.Reject(e.Value());
    }

private:
    Napi::Promise::Deferred deferred_;
    std::function<Result()> run_;
    std::function<Napi::Value(Napi::Env, Result &)> resolve_;
    std::function<void()> on_error_;
    Result result_{};
};

template <typename Result>
Napi::Value run_async(Napi::Env env, std::function<Result()> run, std::function<Napi::Value(Napi::Env, Result &)> resolve,
                      std::function<void()> on_error = {}) {
    auto * worker = new PromiseWorker<Result>(env, std::move(run), std::move(resolve), std::move(on_error));
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

std::shared_ptr<Model> model_arg(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject() || !info[0].As<Napi::Object>().InstanceOf(env.GetInstanceData<AddonData>()->model_ctor.Value())) {
        throw Napi::TypeError::New(env, "model must be an AddonModel");
    }
    return ModelWrap::Unwrap(info[0].As<Napi::Object>())->live(env);
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

std::vector<int32_t> int32_field(Napi::Env env, Napi::Object o, const char * key) {
    Napi::Value v = o.Get(key);
    if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
        throw Napi::TypeError::New(env, std::string("batch.") + key + " must be an Int32Array");
    }
    Napi::Int32Array a = v.As<Napi::Int32Array>();
    return std::vector<int32_t>(a.Data(), a.Data() + a.ElementLength());
}

double number_field(Napi::Env env, Napi::Object o, const char * key, double fallback) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string(key) + " must be a number");
    return v.As<Napi::Number>().DoubleValue();
}

/** A whole number in [lo, hi] (`fallback` when undefined): checked before any cast, which NaN or 1e300 would make undefined. */
int64_t whole_field(Napi::Env env, Napi::Object o, const char * key, int64_t fallback, int64_t lo, int64_t hi) {
    Napi::Value v = o.Get(key);
    if (v.IsUndefined()) return fallback;
    const double d = v.IsNumber() ? v.As<Napi::Number>().DoubleValue() : std::nan("");
    if (!(d >= (double) lo && d <= (double) hi && std::floor(d) == d)) {
        throw Napi::RangeError::New(env, std::string(key) + " must be a whole number from " + std::to_string(lo) + " to " + std::to_string(hi) + ", got " +
                                             (v.IsNumber() ? Napi::Value(v).ToString().Utf8Value() : std::string("a ") + (v.IsString() ? "string" : "non-number")));
    }
    return (int64_t) d;
}

TrainBatch batch_arg(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "batch must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    TrainBatch b;
    b.n_seq = whole_field(env, o, "nSeq", 0, 0, INT32_MAX);
    b.n_tokens = whole_field(env, o, "nTokens", 0, 0, INT32_MAX);
    b.tokens = int32_field(env, o, "tokens");
    b.rows = int32_field(env, o, "rows");
    b.targets = int32_field(env, o, "targets");
    b.weight = (float) number_field(env, o, "weight", 1.0);
    b.dropout_seed = (uint64_t) whole_field(env, o, "dropoutSeed", 0, 0, (int64_t) 1 << 53);
    return b;
}

Napi::Value SessionWrap::Accumulate(const Napi::CallbackInfo & info) {
    auto s = live(info.Env());
    TrainBatch b = batch_arg(info);
    return run_async<double>(info.Env(), [s, b]() { return s->accumulate(b); }, [](Napi::Env e, double & v) { return Napi::Number::New(e, v); });
}

Napi::Value SessionWrap::Evaluate(const Napi::CallbackInfo & info) {
    auto s = live(info.Env());
    TrainBatch b = batch_arg(info);
    return run_async<double>(info.Env(), [s, b]() { return s->evaluate(b); }, [](Napi::Env e, double & v) { return Napi::Number::New(e, v); });
}

Napi::Value SessionWrap::Step(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto s = live(env);
    if (info.Length() < 1 || !info[0].IsObject()) throw Napi::TypeError::New(env, "step options must be an object");
    Napi::Object o = info[0].As<Napi::Object>();
    StepOptions opt;
    opt.lr = (float) number_field(env, o, "lr", opt.lr);
    opt.beta1 = (float) number_field(env, o, "beta1", opt.beta1);
    opt.beta2 = (float) number_field(env, o, "beta2", opt.beta2);
    opt.eps = (float) number_field(env, o, "eps", opt.eps);
    opt.weight_decay = (float) number_field(env, o, "weightDecay", opt.weight_decay);
    opt.clip = (float) number_field(env, o, "clip", opt.clip);
    return run_async<StepResult>(env, [s, opt]() { return s->step(opt); }, [](Napi::Env e, StepResult & r) {
        Napi::Object out = Napi::Object::New(e);
        out.Set("gradNorm", r.grad_norm);
        out.Set("clipped", r.clipped);
        return out;
    });
}

Napi::Value SessionWrap::Gradient(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto s = live(env);
    std::vector<float> g;
    try {
        g = s->gradient(string_arg(info, 0, "name"));
    } catch (const std::runtime_error & e) {
        throw Napi::Error::New(env, e.what());
    }
    Napi::Float32Array out = Napi::Float32Array::New(env, g.size());
    std::copy(g.begin(), g.end(), out.Data());
    return out;
}

Napi::Value SessionWrap::SaveOptimizer(const Napi::CallbackInfo & info) {
    auto s = live(info.Env());
    std::string path = string_arg(info, 0, "path");
    return run_async<bool>(info.Env(), [s, path]() { s->save_optimizer(path); return true; }, [](Napi::Env e, bool &) { return e.Undefined(); });
}

Napi::Value SessionWrap::LoadOptimizer(const Napi::CallbackInfo & info) {
    auto s = live(info.Env());
    std::string path = string_arg(info, 0, "path");
    return run_async<bool>(info.Env(), [s, path]() { s->load_optimizer(path); return true; }, [](Napi::Env e, bool &) { return e.Undefined(); });
}

Napi::Value AdapterWrap::GetTensor(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto a = live(env);
    ggml_tensor * t;
    try {
        t = a->tensor(string_arg(info, 0, "name"));
    } catch (const std::runtime_error & e) {
        throw Napi::Error::New(env, e.what());
    }
    Napi::Float32Array out = Napi::Float32Array::New(env, ggml_nelements(t));
    std::lock_guard<std::mutex> lock(a->model->compute_mutex);
    ggml_backend_tensor_get(t, out.Data(), 0, ggml_nbytes(t));
    return out;
}

Napi::Value AdapterWrap::SetTensor(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto a = live(env);
    ggml_tensor * t;
    try {
        t = a->tensor(string_arg(info, 0, "name"));
    } catch (const std::runtime_error & e) {
        throw Napi::Error::New(env, e.what());
    }
    if (info.Length() < 2 || !info[1].IsTypedArray() || info[1].As<Napi::TypedArray>().TypedArrayType() != napi_float32_array ||
        (int64_t) info[1].As<Napi::Float32Array>().ElementLength() != ggml_nelements(t)) {
        throw Napi::TypeError::New(env, "values must be a Float32Array of " + std::to_string(ggml_nelements(t)) + " elements");
    }
    std::lock_guard<std::mutex> lock(a->model->compute_mutex);
    ggml_backend_tensor_set(t, info[1].As<Napi::Float32Array>().Data(), 0, ggml_nbytes(t));
    return env.Undefined();
}

Napi::Value CreateTrainingSession(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto m = model_arg(info);
    if (info.Length() < 2 || !info[1].IsObject() || !info[1].As<Napi::Object>().InstanceOf(env.GetInstanceData<AddonData>()->adapter_ctor.Value())) {
        throw Napi::TypeError::New(env, "adapter must be an AddonAdapter");
    }
    auto a = AdapterWrap::Unwrap(info[1].As<Napi::Object>())->live(env);
    TrainOptions options;
    if (info.Length() > 2 && info[2].IsObject()) {
        Napi::Object o = info[2].As<Napi::Object>();
        options.dropout = (float) number_field(env, o, "dropout", 0.0);
        Napi::Value gc = o.Get("gradientCheckpointing");
        options.gradient_checkpointing = gc.IsBoolean() && gc.As<Napi::Boolean>().Value();
        Napi::Value exact = o.Get("exactBackward"), gpu = o.Get("gpuPath");
        options.exact_backward = exact.IsBoolean() && exact.As<Napi::Boolean>().Value();
        options.gpu_path = gpu.IsBoolean() && gpu.As<Napi::Boolean>().Value();
        Napi::Value blocks = o.Get("attentionBlocks");
        if (blocks.IsNumber()) options.attention_blocks = (int) whole_field(env, o, "attentionBlocks", 0, 0, INT32_MAX);
        Napi::Value cache = o.Get("cacheWeightCopies");
        options.cache_weight_copies = cache.IsBoolean() && cache.As<Napi::Boolean>().Value();
    }
    try {
        auto session = std::make_shared<TrainingSession>(m, a, options);
        return env.GetInstanceData<AddonData>()->session_ctor.New({Napi::External<std::shared_ptr<TrainingSession>>::New(env, &session)});
    } catch (const std::exception & e) {
        throw Napi::Error::New(env, e.what());
    }
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

// Progress from the loading thread reaches JS through a thread-safe function; a throwing callback is
// reported, never allowed to unwind into native code. Cancellation is a shared Int32Array the caller sets.
// The promise settles after the last queued progress call has run: the function's finalizer resolves it.
Napi::Value LoadModel(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    std::string path = string_arg(info, 0, "path");
    LoadOptions options;
    std::shared_ptr<Napi::ThreadSafeFunction> progress;
    struct Drained {
        std::optional<Napi::Promise::Deferred> deferred;
        Napi::ObjectReference model;
    };
    auto drained = std::make_shared<Drained>();
    std::shared_ptr<Napi::Reference<Napi::Int32Array>> abort_ref;
    if (info.Length() > 1 && info[1].IsObject()) {
        Napi::Object o = info[1].As<Napi::Object>();
        if (o.Has("device") && o.Get("device").IsString()) options.device = o.Get("device").As<Napi::String>().Utf8Value();
        options.threads = (int) whole_field(env, o, "threads", 0, 0, MAX_THREADS);
        Napi::Value on_progress = o.Get("onProgress");
        if (on_progress.IsFunction()) {
            progress = std::make_shared<Napi::ThreadSafeFunction>(Napi::ThreadSafeFunction::New(
                env, on_progress.As<Napi::Function>(), "architect.loadModel.progress", 0, 1, [drained](Napi::Env) {
                    if (drained->deferred) drained->deferred->Resolve(drained->model.Value());
                    drained->model.Reset();
                }));
            options.on_progress = [progress](double fraction) {
                progress->NonBlockingCall([fraction](Napi::Env e, Napi::Function callback) {
                    try {
                        callback.Call({Napi::Number::New(e, fraction)});
                    } catch (const Napi::Error & error) {
                        fprintf(stderr, "architect: a loadModel progress callback threw: %s\n", error.Message().c_str());
                    }
                });
            };
        }
        Napi::Value abort = o.Get("abortFlag");
        if (abort.IsTypedArray() && abort.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
            abort_ref = std::make_shared<Napi::Reference<Napi::Int32Array>>(Napi::Persistent(abort.As<Napi::Int32Array>()));
            int32_t * flag = abort.As<Napi::Int32Array>().Data();
            options.cancelled = [flag]() { return __atomic_load_n(flag, __ATOMIC_RELAXED) != 0; };
        }
    }
    return run_async<std::shared_ptr<Model>>(
        env, [path, options]() { return Model::load(path, options); },
        [progress, abort_ref, drained](Napi::Env e, std::shared_ptr<Model> & m) mutable -> Napi::Value {
            abort_ref.reset();
            Napi::Object model = e.GetInstanceData<AddonData>()->model_ctor.New({Napi::External<std::shared_ptr<Model>>::New(e, &m)});
            if (!progress) return model;
            // Resolving with a promise adopts it: the caller gets the model once the finalizer has run.
            drained->deferred.emplace(Napi::Promise::Deferred::New(e));
            drained->model = Napi::Persistent(model);
            Napi::Promise after_progress = drained->deferred->Promise();
            progress->Release();
            return after_progress;
        },
        [progress, abort_ref]() mutable {
            if (progress) progress->Release();
            abort_ref.reset();
        });
}

Napi::Value CreateAdapter(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    auto m = model_arg(info);
    if (info.Length() < 2 || !info[1].IsObject()) throw Napi::TypeError::New(env, "options must be an object");
    Napi::Object o = info[1].As<Napi::Object>();
    LoraConfig config;
    config.rank = (int) whole_field(env, o, "rank", 8, INT32_MIN, INT32_MAX);  // Adapter::create says what a rank may be
    config.alpha = o.Get("alpha").ToNumber().FloatValue();
    config.seed = (uint64_t) whole_field(env, o, "seed", 42, 0, (int64_t) 1 << 53);
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
    if (block <= 0 || type == GGML_TYPE_I8 || type == GGML_TYPE_I16 || type == GGML_TYPE_I32 || type == GGML_TYPE_I64 || type == GGML_TYPE_F64) {
        throw Napi::Error::New(env, "cannot quantize to " + type_name);
    }
    if (row <= 0 || row % block != 0 || (int64_t) src.ElementLength() % row != 0) {
        throw Napi::Error::New(env, "row length must divide the data and be a multiple of " + std::to_string(block) + " for " + type_name);
    }
    if (ggml_quantize_requires_imatrix(type)) throw Napi::Error::New(env, type_name + " needs an importance matrix");
    const int64_t rows = (int64_t) src.ElementLength() / row;
    Napi::Uint8Array out = Napi::Uint8Array::New(env, ggml_row_size(type, row) * rows);
    ggml_quantize_chunk(type, src.Data(), out.Data(), 0, rows, row, nullptr);
    return out;
}

// mergeAdapter(modelPath, adapterPath, outPath, {threads, onProgress, abortFlag}): the merge on libuv's pool,
// progress as LoadModel's (a thread-safe function, the promise settling after its last call has run).
Napi::Value MergeAdapter(const Napi::CallbackInfo & info) {
    Napi::Env env = info.Env();
    const std::string model_path = string_arg(info, 0, "modelPath");
    const std::string adapter_path = string_arg(info, 1, "adapterPath");
    const std::string out_path = string_arg(info, 2, "outPath");
    MergeOptions options;
    std::shared_ptr<Napi::ThreadSafeFunction> progress;
    struct Drained {
        std::optional<Napi::Promise::Deferred> deferred;
        Napi::ObjectReference result;
    };
    auto drained = std::make_shared<Drained>();
    std::shared_ptr<Napi::Reference<Napi::Int32Array>> abort_ref;
    if (info.Length() > 3 && info[3].IsObject()) {
        Napi::Object o = info[3].As<Napi::Object>();
        options.threads = (int) whole_field(env, o, "threads", 0, 0, MAX_THREADS);
        Napi::Value on_progress = o.Get("onProgress");
        if (on_progress.IsFunction()) {
            progress = std::make_shared<Napi::ThreadSafeFunction>(Napi::ThreadSafeFunction::New(
                env, on_progress.As<Napi::Function>(), "architect.mergeAdapter.progress", 0, 1, [drained](Napi::Env) {
                    if (drained->deferred) drained->deferred->Resolve(drained->result.Value());
                    drained->result.Reset();
                }));
            options.on_progress = [progress](const MergeProgress & p) {
                progress->NonBlockingCall([p](Napi::Env e, Napi::Function callback) {
                    Napi::Object o = Napi::Object::New(e);
                    o.Set("tensorsDone", (double) p.tensors_done);
                    o.Set("tensorsTotal", (double) p.tensors_total);
                    o.Set("bytesDone", (double) p.bytes_done);
                    o.Set("bytesTotal", (double) p.bytes_total);
                    o.Set("tensor", p.tensor);
                    o.Set("merged", p.merged);
                    try {
                        callback.Call({o});
                    } catch (const Napi::Error & error) {
                        fprintf(stderr, "architect: a mergeAdapter progress callback threw: %s\n", error.Message().c_str());
                    }
                });
            };
        }
        Napi::Value abort = o.Get("abortFlag");
        if (abort.IsTypedArray() && abort.As<Napi::TypedArray>().TypedArrayType() == napi_int32_array) {
            abort_ref = std::make_shared<Napi::Reference<Napi::Int32Array>>(Napi::Persistent(abort.As<Napi::Int32Array>()));
            int32_t * flag = abort.As<Napi::Int32Array>().Data();
            options.cancelled = [flag]() { return __atomic_load_n(flag, __ATOMIC_RELAXED) != 0; };
        }
    }
    return run_async<MergeResult>(
        env, [model_path, adapter_path, out_path, options]() { return merge_adapter(model_path, adapter_path, out_path, options); },
        [progress, abort_ref, drained](Napi::Env e, MergeResult & r) mutable -> Napi::Value {
            abort_ref.reset();
            Napi::Object result = Napi::Object::New(e);
            result.Set("tensors", (double) r.tensors);
            result.Set("mergedTensors", (double) r.merged);
            result.Set("bytes", (double) r.bytes);
            if (!progress) return result;
            drained->deferred.emplace(Napi::Promise::Deferred::New(e));
            drained->result = Napi::Persistent(result);
            Napi::Promise after_progress = drained->deferred->Promise();
            progress->Release();
            return after_progress;
        },
        [progress, abort_ref]() mutable {
            if (progress) progress->Release();
            abort_ref.reset();
        });
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
    ggml_log_set(quiet_log, nullptr);
    auto * data = new AddonData();
    data->model_ctor = Napi::Persistent(ModelWrap::Define(env));
    data->adapter_ctor = Napi::Persistent(AdapterWrap::Define(env));
    data->session_ctor = Napi::Persistent(SessionWrap::Define(env));
    env.SetInstanceData(data);
    exports.Set("loadBackends", Napi::Function::New(env, LoadBackends));
    exports.Set("listDevices", Napi::Function::New(env, ListDevices));
    exports.Set("loadModel", Napi::Function::New(env, LoadModel));
    exports.Set("createAdapter", Napi::Function::New(env, CreateAdapter));
    exports.Set("loadAdapter", Napi::Function::New(env, LoadAdapter));
    exports.Set("quantize", Napi::Function::New(env, Quantize));
    exports.Set("mergeAdapter", Napi::Function::New(env, MergeAdapter));
    exports.Set("createTrainingSession", Napi::Function::New(env, CreateTrainingSession));
    exports.Set("loraModules", [&env]() {
        Napi::Array a = Napi::Array::New(env, lora_modules().size());
        for (size_t i = 0; i < lora_modules().size(); i++) a.Set(i, lora_modules()[i]);
        return a;
    }());
    return exports;
}

}  // namespace

NODE_API_MODULE(architect_trainer, Init)
