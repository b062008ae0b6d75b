//===- OnnxChecks.cpp - ONNX checker and shape inference ------------------===//
//
// Compiled with -fexceptions: ONNX throws, and nothing thrown here may
// escape into the rest of qopt. The work happens in a forked child so a
// crash inside ONNX ends the child, not the compiler.
//
//===----------------------------------------------------------------------===//

#include "OnnxChecks.h"

#include "onnx/checker.h"
#include "onnx/shape_inference/implementation.h"

#include <cstdint>
#include <cstring>
#include <exception>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace qopt::onnx_import;

static std::string firstLine(const char *message) {
  std::string text(message);
  size_t end = text.find('\n');
  return end == std::string::npos ? text : text.substr(0, end);
}

/// The child's side: checks, infers, and writes the answer as
///   u32 message length | message     (the checker's verdict, first)
///   graph bytes                       (inferred value_info, if any)
/// so that a crash in shape inference still leaves the verdict.
static void childMain(const onnx::ModelProto &model,
                      const std::string &modelPath, bool infer, int fd) {
  // A crash here must end quietly: no LLVM stack dump from the child.
  for (int sig : {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT})
    ::signal(sig, SIG_DFL);
  int devNull = ::open("/dev/null", O_WRONLY);
  if (devNull >= 0)
    ::dup2(devNull, STDERR_FILENO);
  auto writeAll = [&](const void *data, size_t size) {
    const char *p = static_cast<const char *>(data);
    while (size) {
      ssize_t n = ::write(fd, p, size);
      if (n <= 0)
        _exit(3);
      p += n;
      size -= n;
    }
  };
  std::string message;
  try {
    if (modelPath.empty())
      onnx::checker::check_model(model);
    else
      onnx::checker::check_model(modelPath);
  } catch (const std::exception &e) {
    message = firstLine(e.what());
    if (message.empty())
      message = "ONNX checker failed";
  }
  uint32_t length = message.size();
  writeAll(&length, 4);
  writeAll(message.data(), message.size());
  if (message.empty() && infer) {
    onnx::ModelProto copy = model; // the child's private copy
    try {
      onnx::ShapeInferenceOptions options(/*check_type=*/false,
                                          /*strict_mode=*/0,
                                          /*data_prop=*/true);
      onnx::shape_inference::InferShapes(
          copy, onnx::OpSchemaRegistry::Instance(), options);
      onnx::GraphProto values;
      *values.mutable_value_info() = copy.graph().value_info();
      std::string graphBytes = values.SerializeAsString();
      writeAll(graphBytes.data(), graphBytes.size());
    } catch (const std::exception &) {
      // No inferred types: the importer's own inference stands alone.
      _exit(4);
    }
  }
  ::close(fd);
  _exit(0);
}

OnnxCheckResult qopt::onnx_import::runOnnxChecks(const onnx::ModelProto &model,
                                                 const std::string &modelPath,
                                                 bool infer) {
  OnnxCheckResult result;
  int fds[2];
  if (::pipe(fds) != 0) {
    result.crashed = true;
    return result;
  }
  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    result.crashed = true;
    return result;
  }
  if (pid == 0) {
    ::close(fds[0]);
    childMain(model, modelPath, infer, fds[1]);
  }
  ::close(fds[1]);
  std::string bytes;
  char buffer[1 << 16];
  while (true) {
    ssize_t n = ::read(fds[0], buffer, sizeof(buffer));
    if (n <= 0)
      break;
    bytes.append(buffer, n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  // Without a complete verdict the checker itself died: a malformed model.
  uint32_t length = 0;
  if (bytes.size() >= 4)
    std::memcpy(&length, bytes.data(), 4);
  if (bytes.size() < 4 || bytes.size() < 4 + static_cast<size_t>(length)) {
    result.crashed = true;
    return result;
  }
  result.checkerError = bytes.substr(4, length);
  // Shape inference counts only if the child finished cleanly.
  bool clean = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (clean && infer && result.checkerError.empty())
    result.inferred = result.inferredValues.ParseFromArray(
        bytes.data() + 4 + length, static_cast<int>(bytes.size() - 4 - length));
  return result;
}
