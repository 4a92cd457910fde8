// Model files mapped into memory once per process, whichever thread asks first: every engine
// worker of the process reads the same pages, so a model loads once however many replicas serve
// it, and a model of any size that fits in memory loads (there is no 4 GiB limit here).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

namespace jn {

struct Mapping {
  const uint8_t* data;
  size_t size;
};

// Maps `path` (private, copy-on-write: a write by mistake changes this process's pages, never
// the file) or returns the mapping this process already has of the same file (device and inode).
// Throws std::runtime_error with the system's reason.
Mapping mapFile(const std::string& path);

// Tells the OS that [data, data + size) of a mapping will not be read again soon: its pages leave
// this process's resident set (the page cache keeps them) once their contents were repacked.
void releasePages(const uint8_t* data, size_t size);

}  // namespace jn
