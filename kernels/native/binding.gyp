# The native kernel backend, built by node-gyp from scripts/build-native.mjs (npm's install and
# build steps). Everything compiles for baseline x86-64 (or the host's baseline elsewhere); the
# SIMD paths are compiled per file with their own target pragmas and chosen at run time (cpuid).
{
  "targets": [
    {
      "target_name": "journey_native",
      "sources": [
        "src/addon.cc",
        "src/cpu-features.cc",
        "src/thread-pool.cc",
        "src/mapped-files.cc",
        "src/panels.cc",
        "src/matrix-cache.cc",
        "src/context.cc",
        "src/ops.cc",
        "src/isa-avx512.cc",
        "src/isa-avx2.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_ADDON_API_DISABLE_DEPRECATED"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      # no contraction of a*b+c into an FMA behind the code's back: the scalar dequantizers must
      # round as the reference does; the SIMD code asks for its FMAs by name
      "cflags_cc": ["-O3", "-std=c++17", "-fexceptions", "-ffp-contract=off", "-fno-math-errno", "-Wall", "-Wno-unused-function", "-Wno-maybe-uninitialized"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "OTHER_CPLUSPLUSFLAGS": ["-O3", "-std=c++17", "-ffp-contract=off"]
      },
      "conditions": [
        ["OS=='linux'", { "libraries": ["-lpthread"] }]
      ]
    }
  ]
}
