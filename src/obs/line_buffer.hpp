// A byte buffer written through a cursor, for text built on the hot path (access log lines):
// a writer asks for room once per value and writes into it, instead of paying std::string's
// capacity check, size update and terminator on every small append.
#pragma once

#include <algorithm>
#include <cstring>
#include <string>
#include <string_view>

namespace portico::obs {

class LineBuffer {
 public:
  explicit LineBuffer(std::size_t capacity = 0) { storage_.resize(capacity); }

  std::size_t size() const noexcept { return used_; }
  bool empty() const noexcept { return used_ == 0; }
  std::string_view view() const noexcept { return {storage_.data(), used_}; }
  char* data() noexcept { return storage_.data(); }  // the bytes written (to patch one in place)
  void clear() noexcept { used_ = 0; }                // capacity kept

  // At least `n` writable bytes at the end; commit() the ones written. Inlined: it runs for
  // every value of every line, and the buffer rarely has to grow.
  [[gnu::always_inline]] char* room(std::size_t n) {
    if (storage_.size() - used_ < n) [[unlikely]] grow(n);
    return storage_.data() + used_;
  }
  void commit(std::size_t n) noexcept { used_ += n; }

  void append(std::string_view text) {
    if (text.empty()) return;  // its data() may be null, which memcpy must not get
    std::memcpy(room(text.size()), text.data(), text.size());
    used_ += text.size();
  }
  void append(char c) {
    *room(1) = c;
    ++used_;
  }

  // The bytes written, as a string of their own; the buffer is left empty, its capacity kept.
  std::string take() {
    std::string bytes(storage_.data(), used_);
    used_ = 0;
    return bytes;
  }

 private:
  [[gnu::noinline]] void grow(std::size_t n) { storage_.resize(std::max(storage_.size() * 2, used_ + n)); }

  std::string storage_;  // its size is the capacity; bytes past used_ are scratch
  std::size_t used_ = 0;
};

}  // namespace portico::obs
