#include "mapped-files.h"

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <stdexcept>
#include <utility>

#if defined(__unix__) || defined(__APPLE__)
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#define JN_MMAP 1
#endif

namespace jn {

namespace {

std::mutex mutex;
// (device, inode) -> mapping; kept for the life of the process, as the weights are
std::map<std::pair<uint64_t, uint64_t>, Mapping> mappings;

}  // namespace

Mapping mapFile(const std::string& path) {
#ifdef JN_MMAP
  const int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw std::runtime_error(path + ": " + std::strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0) {
    const int err = errno;
    close(fd);
    throw std::runtime_error(path + ": " + std::strerror(err));
  }
  const auto key = std::make_pair(static_cast<uint64_t>(st.st_dev), static_cast<uint64_t>(st.st_ino));
  std::lock_guard<std::mutex> lock(mutex);
  auto found = mappings.find(key);
  if (found != mappings.end()) {
    close(fd);
    return found->second;
  }
  const size_t size = static_cast<size_t>(st.st_size);
  void* data = size == 0 ? nullptr : mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
  const int err = errno;
  close(fd);
  if (data == MAP_FAILED) throw std::runtime_error(path + ": cannot map it into memory: " + std::strerror(err));
  const Mapping mapping{static_cast<const uint8_t*>(data), size};
  mappings.emplace(key, mapping);
  return mapping;
#else
  throw std::runtime_error(path + ": mapping files is not supported on this platform");
#endif
}

void releasePages(const uint8_t* data, size_t size) {
#ifdef JN_MMAP
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = (reinterpret_cast<uintptr_t>(data) + page - 1) & ~(page - 1);
  const uintptr_t end = (reinterpret_cast<uintptr_t>(data) + size) & ~(page - 1);
  if (end > begin) madvise(reinterpret_cast<void*>(begin), end - begin, MADV_DONTNEED);
#else
  (void)data;
  (void)size;
#endif
}

}  // namespace jn
