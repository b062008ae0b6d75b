//===- Link.cpp - linking model.so ----------------------------------------===//
//
// model.so = the generated object + libqopt_model_runtime.a, linked by the
// C++ compiler driver qopt was built with (override: $QCC_CXX). Only the
// qopt_* C API is exported; the library needs libc, libm and the C++
// runtime.
//
//===----------------------------------------------------------------------===//

#include "qopt/Target/CPU.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

/// libqopt_model_runtime.a next to the running tool: <bin>/../lib.
static std::string runtimeArchive() {
  std::string exe = llvm::sys::fs::getMainExecutable(
      nullptr, reinterpret_cast<void *>(&runtimeArchive));
  llvm::SmallString<256> path(llvm::sys::path::parent_path(
      llvm::sys::path::parent_path(exe)));
  llvm::sys::path::append(path, "lib", "libqopt_model_runtime.a");
  return std::string(path);
}

LogicalResult qopt::linkSharedLibrary(llvm::ArrayRef<std::string> objectPaths,
                                      llvm::StringRef outputPath,
                                      std::string &error, bool verbose) {
  std::string runtime = runtimeArchive();
  if (!llvm::sys::fs::exists(runtime)) {
    error = "the model runtime " + runtime + " is missing (build qopt first)";
    return failure();
  }
  std::string driver = QOPT_HOST_CXX;
  if (const char *env = std::getenv("QCC_CXX"))
    driver = env;
  auto program = llvm::sys::findProgramByName(driver);
  if (!program) {
    error = "cannot find the linker driver '" + driver +
            "' (set QCC_CXX to a C++ compiler)";
    return failure();
  }
  // Export the C API and nothing else.
  llvm::SmallString<256> versionScript;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("qopt-exports", "map", fd,
                                         versionScript)) {
    error = "cannot create a temporary file";
    return failure();
  }
  llvm::FileRemover scriptRemover(versionScript);
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << "{ global: qopt_*; local: *; };\n";
  }
  llvm::SmallVector<std::string> args = {*program, "-shared", "-o",
                                         outputPath.str()};
  args.append(objectPaths.begin(), objectPaths.end());
  // libdl: the CUDA driver is opened at run time, never linked.
  args.append({"-Wl,--whole-archive", runtime, "-Wl,--no-whole-archive", "-lm",
               "-ldl", "-Wl,-z,defs", "-Wl,--gc-sections", "-Wl,--as-needed",
               "-Wl,--version-script=" + std::string(versionScript)});
  if (verbose) {
    llvm::errs() << "  link:";
    for (const std::string &a : args)
      llvm::errs() << ' ' << a;
    llvm::errs() << '\n';
  }
  llvm::SmallVector<llvm::StringRef> argRefs(args.begin(), args.end());
  std::string execError;
  int rc = llvm::sys::ExecuteAndWait(*program, argRefs, std::nullopt, {}, 0, 0,
                                     &execError);
  if (rc != 0) {
    error = "linking failed (" + driver + " exited with " +
            std::to_string(rc) + (execError.empty() ? "" : ": " + execError) +
            ")";
    return failure();
  }
  return success();
}
