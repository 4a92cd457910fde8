#include "matrix-cache.h"

#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <tuple>

#include "mapped-files.h"

namespace jn {

namespace {

using Key = std::tuple<std::string, int, int, int>;

std::mutex mutex;
std::map<Key, std::weak_ptr<const Panels>> cache;

struct RepackJob {
  const Panels* panels;
  const uint8_t* src;
};

void repackChunk(void* ctx, int begin, int end, int) {
  auto* job = static_cast<RepackJob*>(ctx);
  repackPanels(*job->panels, job->src, begin, end);
}

}  // namespace

std::shared_ptr<const Panels> loadMatrix(const uint8_t* src, size_t srcBytes, int type, int rows, int cols, const std::string& key, ThreadPool& pool, bool releaseSource) {
  const size_t rowBytes = fileRowBytes(type, cols);
  if (rowBytes == 0) throw std::invalid_argument("the native kernels cannot multiply a [" + std::to_string(rows) + ", " + std::to_string(cols) + "] matrix of ggml type " + std::to_string(type));
  if (srcBytes < rowBytes * static_cast<size_t>(rows)) throw std::invalid_argument("the matrix's bytes are fewer than its shape needs");
  // held while repacking: workers loading the same model wait for the first, then share
  std::lock_guard<std::mutex> lock(mutex);
  const Key k{key, type, rows, cols};
  if (!key.empty()) {
    auto found = cache.find(k);
    if (found != cache.end()) {
      if (auto shared = found->second.lock()) return shared;
    }
  }
  std::shared_ptr<Panels> panels = allocatePanels(type, rows, cols);
  RepackJob job{panels.get(), src};
  pool.run(panels->numPanels, 4, repackChunk, &job);
  if (releaseSource) releasePages(src, rowBytes * static_cast<size_t>(rows));
  if (key.empty()) return panels;
  cache[k] = panels;
  // forget entries whose matrices are gone, so that the map does not grow with reloads
  for (auto it = cache.begin(); it != cache.end();) it = it->second.expired() ? cache.erase(it) : std::next(it);
  return panels;
}

}  // namespace jn
