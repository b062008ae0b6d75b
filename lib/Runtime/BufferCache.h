//===- BufferCache.h - the heap of generated code in model.so ---*- C++ -*-===//
//
// See BufferCache.cpp: freed large buffers are kept for the next
// allocation of their size class, so runs after the first do not fault
// their pages in again.
//
//===----------------------------------------------------------------------===//

#ifndef QOPT_RUNTIME_BUFFERCACHE_H
#define QOPT_RUNTIME_BUFFERCACHE_H

#include <cstddef>

namespace qopt::runtime {

/// A block of at least `bytes` that std::free or releaseBuffer frees.
void *allocateBuffer(size_t bytes);
/// Frees a block from allocateBuffer or malloc, keeping large ones.
void releaseBuffer(void *block);
/// Counts the open models; closing the last returns every kept block.
void modelOpened();
void modelClosed();
/// Bytes kept for reuse now.
size_t cachedBufferBytes();

} // namespace qopt::runtime

#endif // QOPT_RUNTIME_BUFFERCACHE_H
