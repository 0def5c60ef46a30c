{
  # Built by native/build.mjs once per ggml library variant node-llama-cpp ships (cpu, cuda, vulkan, metal).
  # The variant's folder and library name come from the environment at build time. The addon finds those
  # libraries at run time by a path relative to itself (ARCHITECT_GGML_RPATH, from native/out/<variant>/ to
  # the variant's folder), never by the build machine's absolute path, so a moved or installed copy loads
  # the libraries that sit next to it.
  "targets": [
    {
      "target_name": "architect_trainer",
      "sources": ["src/addon.cpp", "src/backend.cpp", "src/model.cpp", "src/lora.cpp", "src/graph.cpp", "src/gguf_io.cpp", "src/train.cpp", "src/transpose.cpp", "src/cross_entropy.cpp", "src/out_prod.cpp", "src/merge.cpp", "src/gguf_file.cpp", "src/model_file.cpp", "src/adapter_file.cpp"],
      "include_dirs": [
        "<!(node -p \"require('node-addon-api').include_dir\")",
        "<!(node -p \"process.env.ARCHITECT_GGML_INCLUDE\")"
      ],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-O3", "-Wall", "-Wno-unused-parameter"],
      "cflags_cc!": ["-fno-exceptions", "-std=gnu++17"],
      "conditions": [
        ["OS=='linux'", {
          "libraries": [
            "-L<!(node -p \"process.env.ARCHITECT_GGML_LIB_DIR\")",
            "-l:<!(node -p \"process.env.ARCHITECT_GGML_LIB\")",
            "-l:libggml-base.so",
            "-Wl,-rpath,'$$ORIGIN/<!(node -p \"process.env.ARCHITECT_GGML_RPATH\")'"
          ]
        }],
        ["OS=='mac'", {
          "xcode_settings": {
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "MACOSX_DEPLOYMENT_TARGET": "11.0",
            "OTHER_LDFLAGS": ["-Wl,-rpath,@loader_path/<!(node -p \"process.env.ARCHITECT_GGML_RPATH\")"]
          },
          "libraries": [
            "<!(node -p \"process.env.ARCHITECT_GGML_LIB_DIR\")/<!(node -p \"process.env.ARCHITECT_GGML_LIB\")",
            "<!(node -p \"process.env.ARCHITECT_GGML_LIB_DIR\")/libggml-base.dylib"
          ]
        }]
      ]
    }
  ]
}
