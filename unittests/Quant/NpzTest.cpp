//===- NpzTest.cpp - NumPy files, cross-checked with NumPy itself ---------===//

#include "qopt/Quant/Npz.h"

#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/raw_ostream.h"

#include <gtest/gtest.h>

using namespace qopt::npz;

namespace {

/// Runs a Python snippet with NumPy; skips the test where NumPy is absent.
bool runPython(const std::string &code, bool &skipped) {
  skipped = false;
  if (!llvm::sys::fs::exists(QOPT_PYTHON)) {
    skipped = true;
    return false;
  }
  llvm::SmallString<128> script;
  int fd;
  if (llvm::sys::fs::createTemporaryFile("npztest", "py", fd, script))
    return false;
  llvm::FileRemover remover(script);
  {
    llvm::raw_fd_ostream os(fd, true);
    os << "import sys\ntry:\n    import numpy as np\nexcept ImportError:\n"
          "    sys.exit(77)\n"
       << code;
  }
  int rc = llvm::sys::ExecuteAndWait(QOPT_PYTHON, {QOPT_PYTHON, script});
  if (rc == 77)
    skipped = true;
  return rc == 0;
}

class NpzTest : public ::testing::Test {
protected:
  void SetUp() override {
    ASSERT_FALSE(llvm::sys::fs::createUniqueDirectory("npztest", dir));
  }
  void TearDown() override { llvm::sys::fs::remove_directories(dir); }
  std::string file(llvm::StringRef name) {
    llvm::SmallString<128> p(dir);
    llvm::sys::path::append(p, name);
    return p.str().str();
  }
  llvm::SmallString<128> dir;
};

TEST_F(NpzTest, ReadsWhatNumPyWrites) {
  std::string plain = file("plain.npz"), packed = file("packed.npz"),
              single = file("one.npy");
  bool skipped;
  ASSERT_TRUE(
      runPython("a = np.arange(24, dtype=np.float32).reshape(2, 3, 4) / 8\n"
                "ids = np.array([[1, -2, 3]], dtype=np.int64)\n"
                "h = np.array([0.5, -1.25, 65504], dtype=np.float16)\n"
                "s = np.float64(3.5)\n"
                "b = np.array([True, False])\n"
                "u = np.arange(5, dtype=np.uint8)\n"
                "np.savez('" +
                    plain +
                    "', a=a, ids=ids, h=h, s=s, b=b, u=u)\n"
                    "np.savez_compressed('" +
                    packed +
                    "', a=a, big=np.ones((300, 70)))\n"
                    "np.save('" +
                    single + "', ids)\n",
                skipped))
      << "python failed";
  if (skipped)
    GTEST_SKIP() << "no NumPy";

  auto arrays = readNpz(plain);
  ASSERT_TRUE(bool(arrays)) << llvm::toString(arrays.takeError());
  ASSERT_EQ(arrays->size(), 6u);
  const Array &a = (*arrays)[0].array;
  EXPECT_EQ((*arrays)[0].name, "a");
  EXPECT_EQ(a.dtype, DType::F32);
  EXPECT_EQ(a.shape, (std::vector<int64_t>{2, 3, 4}));
  std::vector<float> av = a.toFloat();
  for (int i = 0; i < 24; ++i)
    EXPECT_EQ(av[i], i / 8.0f);
  EXPECT_EQ((*arrays)[1].array.dtype, DType::I64);
  EXPECT_EQ((*arrays)[1].array.toDouble(), (std::vector<double>{1, -2, 3}));
  EXPECT_EQ((*arrays)[2].array.toFloat(),
            (std::vector<float>{0.5f, -1.25f, 65504.0f}));
  EXPECT_TRUE((*arrays)[3].array.shape.empty());
  EXPECT_EQ((*arrays)[3].array.toDouble(), (std::vector<double>{3.5}));
  EXPECT_EQ((*arrays)[4].array.dtype, DType::Bool);
  EXPECT_EQ((*arrays)[5].array.toDouble(),
            (std::vector<double>{0, 1, 2, 3, 4}));

  auto compressed = readNpz(packed);
  ASSERT_TRUE(bool(compressed)) << llvm::toString(compressed.takeError());
  ASSERT_EQ(compressed->size(), 2u);
  EXPECT_EQ((*compressed)[0].array.toFloat(), av);
  std::vector<double> ones = (*compressed)[1].array.toDouble();
  EXPECT_EQ(ones.size(), 300u * 70u);
  EXPECT_EQ(std::count(ones.begin(), ones.end(), 1.0), 300 * 70);

  auto npy = readArrays(single);
  ASSERT_TRUE(bool(npy)) << llvm::toString(npy.takeError());
  EXPECT_EQ((*npy)[0].name, "one");
}

TEST_F(NpzTest, NumPyReadsWhatWeWrite) {
  std::string path = file("ours.npz");
  std::vector<NamedArray> arrays = {
      {"w", Array::fromFloat({2, 3}, {1, 2, 3, 4, 5, -6.5f})},
      {"layer/with::colons", Array::fromInt64({}, {42})},
      {"d", Array::fromDouble({1}, {0.125})},
      {"i", Array::fromInt32({0}, {})},
  };
  ASSERT_FALSE(bool(writeNpz(path, arrays)));
  bool skipped;
  bool ok = runPython(
      "z = np.load('" + path +
          "')\n"
          "assert list(z.keys()) == ['w', 'layer/with::colons', 'd', 'i'], "
          "list(z.keys())\n"
          "assert z['w'].dtype == np.float32 and z['w'].shape == (2, 3)\n"
          "assert (z['w'] == np.array([[1, 2, 3], [4, 5, -6.5]])).all()\n"
          "assert z['layer/with::colons'].shape == () and "
          "z['layer/with::colons'] == 42\n"
          "assert z['d'].dtype == np.float64 and z['d'][0] == 0.125\n"
          "assert z['i'].shape == (0,) and z['i'].dtype == np.int32\n",
      skipped);
  if (skipped)
    GTEST_SKIP() << "no NumPy";
  EXPECT_TRUE(ok);
  // And we read it back.
  auto back = readNpz(path);
  ASSERT_TRUE(bool(back));
  EXPECT_EQ((*back)[0].array.toFloat(), arrays[0].array.toFloat());
  EXPECT_EQ((*back)[1].name, "layer/with::colons");
}

TEST_F(NpzTest, ClearErrors) {
  auto missing = readNpz(file("missing.npz"));
  ASSERT_FALSE(bool(missing));
  EXPECT_NE(llvm::toString(missing.takeError()).find("cannot read"),
            std::string::npos);
  std::string junk = file("junk.npz");
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(junk, ec);
    os << "this is not a zip file at all, just some text";
  }
  auto bad = readNpz(junk);
  ASSERT_FALSE(bool(bad));
  EXPECT_NE(llvm::toString(bad.takeError()).find("not a valid .npz"),
            std::string::npos);
  auto notNpy = parseNpy("\x93NUMPX");
  ASSERT_FALSE(bool(notNpy));
  llvm::consumeError(notNpy.takeError());
  std::string fortran =
      std::string("\x93NUMPY\x01\x00", 8) + "\x40" + std::string(1, '\0') +
      "{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }";
  fortran.resize(10 + 64, ' ');
  fortran += std::string(4, '\0');
  auto f = parseNpy(fortran);
  ASSERT_FALSE(bool(f));
  EXPECT_NE(llvm::toString(f.takeError()).find("Fortran"), std::string::npos);
}

} // namespace
