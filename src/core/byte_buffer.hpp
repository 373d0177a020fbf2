// Connection byte buffers and the per-worker pool they come from.
//
// Idle keep-alive connections give their buffer back to the pool, so a connection that
// is only waiting costs its socket and coroutine frame, not a buffer (the memory bar is
// 4 KiB per idle connection).
#pragma once

#include <cstddef>
#include <cstring>
#include <memory>
#include <string_view>
#include <vector>

namespace portico {

class BufferPool;

// A flat byte buffer with a read region [begin, end) and free space after it.
// Not thread-safe; owned by one connection on one worker.
class ByteBuffer {
 public:
  ByteBuffer() = default;
  ByteBuffer(const ByteBuffer&) = delete;
  ByteBuffer& operator=(const ByteBuffer&) = delete;
  ~ByteBuffer() { release(); }

  void attach(BufferPool* pool) { pool_ = pool; }

  // Ensures storage is held (taken from the pool when released).
  void acquire();
  // Returns storage to the pool. Only valid when empty().
  void release();
  bool holds_storage() const { return data_ != nullptr; }

  std::string_view readable() const { return {data_ + begin_, end_ - begin_}; }
  std::size_t size() const { return end_ - begin_; }
  bool empty() const { return begin_ == end_; }
  void consume(std::size_t n) {
    begin_ += n;
    if (begin_ == end_) begin_ = end_ = 0;
  }
  // Free space for reading, after moving unread bytes to the front when that helps.
  char* write_ptr() { return data_ + end_; }
  std::size_t writable() const { return capacity_ - end_; }
  void commit(std::size_t n) { end_ += n; }
  void compact() {
    if (begin_ == 0) return;
    std::memmove(data_, data_ + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  // Grows the storage to at least `capacity` bytes (for message heads larger than a
  // pooled buffer). Grown storage is freed instead of pooled on release.
  void grow(std::size_t capacity);
  std::size_t capacity() const { return capacity_; }

 private:
  BufferPool* pool_ = nullptr;
  char* data_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t begin_ = 0;
  std::size_t end_ = 0;
  std::unique_ptr<char[]> owned_;
};

// A LIFO free list of fixed-size buffers for one worker.
class BufferPool {
 public:
  static constexpr std::size_t kBufferSize = 16 * 1024;
  static constexpr std::size_t kMaxFree = 256;  // 4 MiB of spare buffers per worker at most

  std::unique_ptr<char[]> take() {
    if (free_.empty()) return std::unique_ptr<char[]>(new char[kBufferSize]);
    auto b = std::move(free_.back());
    free_.pop_back();
    return b;
  }
  void give(std::unique_ptr<char[]> b) {
    if (free_.size() < kMaxFree) free_.push_back(std::move(b));
  }

 private:
  std::vector<std::unique_ptr<char[]>> free_;
};

inline void ByteBuffer::acquire() {
  if (data_ != nullptr) return;
  owned_ = pool_ != nullptr ? pool_->take() : std::unique_ptr<char[]>(new char[BufferPool::kBufferSize]);
  data_ = owned_.get();
  capacity_ = BufferPool::kBufferSize;
  begin_ = end_ = 0;
}

inline void ByteBuffer::release() {
  if (data_ == nullptr) return;
  if (pool_ != nullptr && capacity_ == BufferPool::kBufferSize) pool_->give(std::move(owned_));
  owned_.reset();
  data_ = nullptr;
  capacity_ = begin_ = end_ = 0;
}

inline void ByteBuffer::grow(std::size_t capacity) {
  if (capacity <= capacity_) return;
  std::unique_ptr<char[]> bigger(new char[capacity]);
  std::memcpy(bigger.get(), data_ + begin_, end_ - begin_);
  end_ -= begin_;
  begin_ = 0;
  if (pool_ != nullptr && capacity_ == BufferPool::kBufferSize) pool_->give(std::move(owned_));
  owned_ = std::move(bigger);
  data_ = owned_.get();
  capacity_ = capacity;
}

}  // namespace portico
