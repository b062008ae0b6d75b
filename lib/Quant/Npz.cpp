//===- Npz.cpp - NumPy .npy / .npz arrays ---------------------------------===//
//
// .npy: "\x93NUMPY", version, header length, a Python dict literal
// {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }, then the data.
// .npz: a ZIP archive of .npy members. We read the central directory (so
// data descriptors and Zip64 sizes are handled) and inflate deflated
// members with zlib.
//
//===----------------------------------------------------------------------===//

#include "qopt/Quant/Npz.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallString.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CRC.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <zlib.h>

#include <cstring>

using namespace qopt::npz;
using llvm::StringRef;

namespace {
struct DTypeInfo {
  DType type;
  const char *descr; // without byte order
  const char *name;
  size_t size;
};
const DTypeInfo dtypes[] = {
    {DType::F16, "f2", "float16", 2}, {DType::F32, "f4", "float32", 4},
    {DType::F64, "f8", "float64", 8}, {DType::I8, "i1", "int8", 1},
    {DType::I16, "i2", "int16", 2},   {DType::I32, "i4", "int32", 4},
    {DType::I64, "i8", "int64", 8},   {DType::U8, "u1", "uint8", 1},
    {DType::U16, "u2", "uint16", 2},  {DType::U32, "u4", "uint32", 4},
    {DType::U64, "u8", "uint64", 8},  {DType::Bool, "b1", "bool", 1},
};

const DTypeInfo &info(DType type) {
  for (const DTypeInfo &d : dtypes)
    if (d.type == type)
      return d;
  llvm_unreachable("unknown dtype");
}

llvm::Error error(const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

uint16_t read16(const char *p) {
  return static_cast<uint8_t>(p[0]) | static_cast<uint8_t>(p[1]) << 8;
}
uint32_t read32(const char *p) {
  return read16(p) | static_cast<uint32_t>(read16(p + 2)) << 16;
}
uint64_t read64(const char *p) {
  return read32(p) | static_cast<uint64_t>(read32(p + 4)) << 32;
}

float halfToFloat(uint16_t h) {
  uint32_t sign = (h & 0x8000u) << 16, exp = (h >> 10) & 0x1f, mant = h & 0x3ff;
  uint32_t bits;
  if (exp == 0) {
    if (mant == 0) {
      bits = sign;
    } else { // subnormal: renormalize
      exp = 127 - 15 + 1;
      while (!(mant & 0x400)) {
        mant <<= 1;
        --exp;
      }
      bits = sign | exp << 23 | (mant & 0x3ff) << 13;
    }
  } else if (exp == 31) {
    bits = sign | 0x7f800000u | mant << 13;
  } else {
    bits = sign | (exp - 15 + 127) << 23 | mant << 13;
  }
  float f;
  std::memcpy(&f, &bits, 4);
  return f;
}

/// The value of `key` in the .npy header dict, as written by NumPy.
std::optional<StringRef> headerValue(StringRef header, StringRef key) {
  std::string quoted = ("'" + key + "'").str();
  size_t at = header.find(quoted);
  if (at == StringRef::npos)
    return std::nullopt;
  StringRef rest = header.drop_front(at + quoted.size()).ltrim();
  if (!rest.consume_front(":"))
    return std::nullopt;
  rest = rest.ltrim();
  if (rest.starts_with("'")) {
    size_t end = rest.find('\'', 1);
    return end == StringRef::npos ? std::nullopt
                                  : std::optional(rest.slice(1, end));
  }
  if (rest.starts_with("(")) {
    size_t end = rest.find(')');
    return end == StringRef::npos ? std::nullopt
                                  : std::optional(rest.slice(1, end));
  }
  size_t end = rest.find_first_of(",}");
  return rest.take_front(end).trim();
}
} // namespace

const char *qopt::npz::dtypeName(DType type) { return info(type).name; }
size_t qopt::npz::dtypeSize(DType type) { return info(type).size; }

int64_t Array::numElements() const {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

template <typename T> static T element(const Array &a, int64_t i) {
  T v;
  std::memcpy(&v, a.data.data() + i * sizeof(T), sizeof(T));
  return v;
}

std::vector<double> Array::toDouble() const {
  int64_t n = numElements();
  std::vector<double> out(n);
  for (int64_t i = 0; i < n; ++i) {
    switch (dtype) {
    case DType::F16:
      out[i] = halfToFloat(element<uint16_t>(*this, i));
      break;
    case DType::F32:
      out[i] = element<float>(*this, i);
      break;
    case DType::F64:
      out[i] = element<double>(*this, i);
      break;
    case DType::I8:
      out[i] = element<int8_t>(*this, i);
      break;
    case DType::I16:
      out[i] = element<int16_t>(*this, i);
      break;
    case DType::I32:
      out[i] = element<int32_t>(*this, i);
      break;
    case DType::I64:
      out[i] = static_cast<double>(element<int64_t>(*this, i));
      break;
    case DType::U8:
    case DType::Bool:
      out[i] = element<uint8_t>(*this, i);
      break;
    case DType::U16:
      out[i] = element<uint16_t>(*this, i);
      break;
    case DType::U32:
      out[i] = element<uint32_t>(*this, i);
      break;
    case DType::U64:
      out[i] = static_cast<double>(element<uint64_t>(*this, i));
      break;
    }
  }
  return out;
}

std::vector<float> Array::toFloat() const {
  if (dtype == DType::F32) {
    std::vector<float> out(numElements());
    std::memcpy(out.data(), data.data(), out.size() * sizeof(float));
    return out;
  }
  std::vector<double> d = toDouble();
  return std::vector<float>(d.begin(), d.end());
}

template <typename T>
static Array fromValues(DType type, std::vector<int64_t> shape,
                        const std::vector<T> &values) {
  Array a;
  a.dtype = type;
  a.shape = std::move(shape);
  a.data.resize(values.size() * sizeof(T));
  std::memcpy(a.data.data(), values.data(), a.data.size());
  return a;
}

Array Array::fromFloat(std::vector<int64_t> shape,
                       const std::vector<float> &values) {
  return fromValues(DType::F32, std::move(shape), values);
}
Array Array::fromDouble(std::vector<int64_t> shape,
                        const std::vector<double> &values) {
  return fromValues(DType::F64, std::move(shape), values);
}
Array Array::fromInt64(std::vector<int64_t> shape,
                       const std::vector<int64_t> &values) {
  return fromValues(DType::I64, std::move(shape), values);
}
Array Array::fromInt32(std::vector<int64_t> shape,
                       const std::vector<int32_t> &values) {
  return fromValues(DType::I32, std::move(shape), values);
}

//===----------------------------------------------------------------------===//
// .npy
//===----------------------------------------------------------------------===//

llvm::Expected<Array> qopt::npz::parseNpy(StringRef bytes) {
  if (bytes.size() < 10 || !bytes.starts_with("\x93NUMPY"))
    return error("not a NumPy array (.npy magic missing)");
  unsigned major = static_cast<uint8_t>(bytes[6]);
  size_t headerLen, headerStart;
  if (major == 1) {
    headerLen = read16(bytes.data() + 8);
    headerStart = 10;
  } else if (major == 2 || major == 3) {
    if (bytes.size() < 12)
      return error("truncated .npy header");
    headerLen = read32(bytes.data() + 8);
    headerStart = 12;
  } else {
    return error("unsupported .npy format version " + llvm::Twine(major));
  }
  if (headerStart + headerLen > bytes.size())
    return error("truncated .npy header");
  StringRef header = bytes.substr(headerStart, headerLen);
  std::optional<StringRef> descr = headerValue(header, "descr");
  std::optional<StringRef> fortran = headerValue(header, "fortran_order");
  std::optional<StringRef> shape = headerValue(header, "shape");
  if (!descr || !fortran || !shape)
    return error("malformed .npy header: " + header.trim());
  if (*fortran != "False")
    return error("Fortran-order arrays are not supported (save a C-order "
                 "array, e.g. np.ascontiguousarray)");
  StringRef d = *descr;
  char order = d.empty() ? '?' : d.front();
  if (order == '>' && d != ">i1" && d != ">u1" && d != ">b1")
    return error("big-endian arrays are not supported (" + d + ")");
  if (order == '<' || order == '|' || order == '=' || order == '>')
    d = d.drop_front();
  Array a;
  const DTypeInfo *found = nullptr;
  for (const DTypeInfo &t : dtypes)
    if (d == t.descr)
      found = &t;
  if (!found)
    return error("unsupported dtype '" + *descr + "'");
  a.dtype = found->type;
  for (StringRef dim : llvm::split(*shape, ',')) {
    dim = dim.trim();
    if (dim.empty())
      continue;
    int64_t v;
    if (dim.getAsInteger(10, v) || v < 0)
      return error("malformed .npy shape (" + *shape + ")");
    a.shape.push_back(v);
  }
  size_t count = 1;
  for (int64_t v : a.shape) {
    if (v && count > (size_t(1) << 40) / static_cast<size_t>(v))
      return error("absurd .npy shape (" + *shape + ")");
    count *= static_cast<size_t>(v);
  }
  size_t dataBytes = count * found->size;
  StringRef payload = bytes.drop_front(headerStart + headerLen);
  if (payload.size() < dataBytes)
    return error("truncated .npy data: " + llvm::Twine(payload.size()) +
                 " bytes for a " + found->name + " array of " +
                 llvm::Twine(count) + " elements");
  a.data.assign(payload.begin(), payload.begin() + dataBytes);
  return a;
}

std::string qopt::npz::writeNpy(const Array &array) {
  const DTypeInfo &t = info(array.dtype);
  std::string shape;
  for (int64_t d : array.shape)
    shape += std::to_string(d) + ", ";
  if (array.shape.size() > 1)
    shape.erase(shape.size() - 2); // (2, 3) but (4,) for rank 1
  else if (array.shape.size() == 1)
    shape.pop_back();
  std::string header = std::string("{'descr': '") + (t.size == 1 ? "|" : "<") +
                       t.descr + "', 'fortran_order': False, 'shape': (" +
                       shape + "), }";
  // Pad with spaces so the data starts 64-byte aligned; end with '\n'.
  size_t prefix = header.size() + 1 + 10 > 65535 ? 12 : 10;
  size_t total = (prefix + header.size() + 1 + 63) / 64 * 64;
  header.append(total - prefix - header.size() - 1, ' ');
  header += '\n';
  std::string out = "\x93NUMPY";
  out += static_cast<char>(prefix == 10 ? 1 : 2);
  out += '\0';
  size_t len = header.size();
  out += static_cast<char>(len & 0xff);
  out += static_cast<char>((len >> 8) & 0xff);
  if (prefix == 12) {
    out += static_cast<char>((len >> 16) & 0xff);
    out += static_cast<char>((len >> 24) & 0xff);
  }
  out += header;
  out.append(array.data.begin(), array.data.end());
  return out;
}

//===----------------------------------------------------------------------===//
// .npz
//===----------------------------------------------------------------------===//

static llvm::Expected<std::string> inflateRaw(StringRef in, uint64_t outSize) {
  std::string out(outSize, '\0');
  z_stream s;
  std::memset(&s, 0, sizeof(s));
  if (inflateInit2(&s, -MAX_WBITS) != Z_OK)
    return error("zlib initialization failed");
  s.next_in = reinterpret_cast<Bytef *>(const_cast<char *>(in.data()));
  s.avail_in = static_cast<uInt>(in.size());
  s.next_out = reinterpret_cast<Bytef *>(out.data());
  s.avail_out = static_cast<uInt>(out.size());
  int rc = inflate(&s, Z_FINISH);
  inflateEnd(&s);
  if (rc != Z_STREAM_END || s.total_out != outSize)
    return error("corrupt deflated member");
  return out;
}

llvm::Expected<std::vector<NamedArray>> qopt::npz::readNpz(StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return error("cannot read '" + path + "': " + buffer.getError().message());
  StringRef bytes = (*buffer)->getBuffer();
  auto bad = [&](const llvm::Twine &why) {
    return error("'" + path + "' is not a valid .npz file: " + why);
  };
  // End of central directory: the last "PK\5\6" within 64 KiB of the end.
  if (bytes.size() < 22)
    return bad("too short");
  size_t eocd = StringRef::npos;
  for (size_t i = bytes.size() - 22 + 1; i-- > 0 && bytes.size() - i <= 65557;)
    if (read32(bytes.data() + i) == 0x06054b50) {
      eocd = i;
      break;
    }
  if (eocd == StringRef::npos)
    return bad("no ZIP end-of-central-directory record");
  uint64_t entries = read16(bytes.data() + eocd + 10);
  uint64_t cdOffset = read32(bytes.data() + eocd + 16);
  // Zip64 end of central directory, located just before.
  if ((entries == 0xffff || cdOffset == 0xffffffff) && eocd >= 20 &&
      read32(bytes.data() + eocd - 20) == 0x07064b50) {
    uint64_t z64 = read64(bytes.data() + eocd - 20 + 8);
    if (z64 + 56 > bytes.size() || read32(bytes.data() + z64) != 0x06064b50)
      return bad("broken Zip64 record");
    entries = read64(bytes.data() + z64 + 32);
    cdOffset = read64(bytes.data() + z64 + 48);
  }
  std::vector<NamedArray> arrays;
  uint64_t at = cdOffset;
  for (uint64_t e = 0; e < entries; ++e) {
    if (at + 46 > bytes.size() || read32(bytes.data() + at) != 0x02014b50)
      return bad("broken central directory");
    const char *h = bytes.data() + at;
    unsigned method = read16(h + 10);
    uint64_t compSize = read32(h + 20), size = read32(h + 24);
    unsigned nameLen = read16(h + 28), extraLen = read16(h + 30),
             commentLen = read16(h + 32);
    uint64_t local = read32(h + 42);
    if (at + 46 + nameLen + extraLen > bytes.size())
      return bad("broken central directory");
    StringRef name(h + 46, nameLen);
    // Zip64 extended information: the fields that were 0xffffffff, in order.
    StringRef extra(h + 46 + nameLen, extraLen);
    while (extra.size() >= 4) {
      unsigned id = read16(extra.data()), len = read16(extra.data() + 2);
      StringRef field = extra.substr(4, len);
      if (id == 1) {
        const char *p = field.data();
        const char *end = field.data() + field.size();
        if (size == 0xffffffff && p + 8 <= end) {
          size = read64(p);
          p += 8;
        }
        if (compSize == 0xffffffff && p + 8 <= end) {
          compSize = read64(p);
          p += 8;
        }
        if (local == 0xffffffff && p + 8 <= end)
          local = read64(p);
      }
      extra = extra.drop_front(std::min<size_t>(extra.size(), 4 + len));
    }
    at += 46 + nameLen + extraLen + commentLen;
    if (local + 30 > bytes.size() || read32(bytes.data() + local) != 0x04034b50)
      return bad("broken local header of '" + name + "'");
    uint64_t dataStart = local + 30 + read16(bytes.data() + local + 26) +
                         read16(bytes.data() + local + 28);
    if (dataStart + compSize > bytes.size())
      return bad("member '" + name + "' is truncated");
    StringRef member = bytes.substr(dataStart, compSize);
    std::string inflated;
    if (method == 8) {
      auto out = inflateRaw(member, size);
      if (!out)
        return bad("member '" + name + "': " + llvm::toString(out.takeError()));
      inflated = std::move(*out);
      member = inflated;
    } else if (method != 0) {
      return bad("member '" + name + "' uses ZIP compression method " +
                 llvm::Twine(method) + " (only stored and deflate are read)");
    }
    auto array = parseNpy(member);
    if (!array)
      return error("'" + path + "', array '" + name +
                   "': " + llvm::toString(array.takeError()));
    StringRef key = name;
    key.consume_back(".npy");
    arrays.push_back({key.str(), std::move(*array)});
  }
  return arrays;
}

llvm::Expected<std::vector<NamedArray>> qopt::npz::readArrays(StringRef path) {
  if (path.ends_with(".npy")) {
    auto buffer = llvm::MemoryBuffer::getFile(path, false, false);
    if (!buffer)
      return error("cannot read '" + path +
                   "': " + buffer.getError().message());
    auto array = parseNpy((*buffer)->getBuffer());
    if (!array)
      return error("'" + path + "': " + llvm::toString(array.takeError()));
    std::vector<NamedArray> out;
    out.push_back({llvm::sys::path::stem(path).str(), std::move(*array)});
    return out;
  }
  return readNpz(path);
}

static void put16(std::string &s, uint16_t v) {
  s += static_cast<char>(v & 0xff);
  s += static_cast<char>(v >> 8);
}
static void put32(std::string &s, uint32_t v) {
  put16(s, v & 0xffff);
  put16(s, v >> 16);
}

llvm::Error qopt::npz::writeNpz(StringRef path,
                                const std::vector<NamedArray> &arrays) {
  std::string out, directory;
  for (const NamedArray &a : arrays) {
    std::string name = a.name + ".npy";
    std::string npy = writeNpy(a.array);
    if (npy.size() >= 0xffffffffu || out.size() >= 0xffffffffu)
      return error("'" + path + "': array '" + a.name +
                   "' is too large for a non-Zip64 .npz");
    uint32_t crc = llvm::crc32(llvm::arrayRefFromStringRef(npy));
    uint32_t offset = static_cast<uint32_t>(out.size());
    auto header = [&](std::string &s, bool central) {
      put32(s, central ? 0x02014b50 : 0x04034b50);
      if (central)
        put16(s, 20); // version made by
      put16(s, 20);   // version needed
      put16(s, 0);    // flags
      put16(s, 0);    // stored
      put16(s, 0);    // time
      put16(s, 0x21); // date: 1980-01-01
      put32(s, crc);
      put32(s, static_cast<uint32_t>(npy.size()));
      put32(s, static_cast<uint32_t>(npy.size()));
      put16(s, static_cast<uint16_t>(name.size()));
      put16(s, 0); // extra
      if (central) {
        put16(s, 0); // comment
        put16(s, 0); // disk
        put16(s, 0); // internal attributes
        put32(s, 0); // external attributes
        put32(s, offset);
      }
      s += name;
    };
    header(out, false);
    out += npy;
    header(directory, true);
  }
  uint32_t cdOffset = static_cast<uint32_t>(out.size());
  out += directory;
  put32(out, 0x06054b50);
  put16(out, 0);
  put16(out, 0);
  put16(out, static_cast<uint16_t>(arrays.size()));
  put16(out, static_cast<uint16_t>(arrays.size()));
  put32(out, static_cast<uint32_t>(directory.size()));
  put32(out, cdOffset);
  put16(out, 0);
  if (arrays.size() > 0xffff)
    return error("'" + path + "': too many arrays for a non-Zip64 .npz");

  llvm::SmallString<256> temp(path);
  temp += ".%%%%%%.tmp";
  int fd;
  llvm::SmallString<256> tempPath;
  if (std::error_code ec = llvm::sys::fs::createUniqueFile(temp, fd, tempPath))
    return error("cannot write '" + path + "': " + ec.message());
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << out;
    os.close();
    if (os.has_error()) {
      os.clear_error();
      llvm::sys::fs::remove(tempPath);
      return error("cannot write '" + path + "'");
    }
  }
  if (std::error_code ec = llvm::sys::fs::rename(tempPath, path)) {
    llvm::sys::fs::remove(tempPath);
    return error("cannot write '" + path + "': " + ec.message());
  }
  return llvm::Error::success();
}
