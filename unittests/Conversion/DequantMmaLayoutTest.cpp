//===- DequantMmaLayoutTest.cpp - imma/hmma weight slices, lane by lane ---===//
//
// Packs random weights with packDequantMmaWeights and reads them back the
// way a lane of imma/hmma does: for every 32-K chunk, lane (g, t) and B
// register, one word per weight slice, one shift and one mask. The
// expected value of each element comes from the PTX ISA's fragment layout
// of mma.m16n8k32 (s8: b0 byte e = column g, k = 4t + e; b1 = k + 16) and
// mma.m16n8k16 (f16: b0 half e = k = 2t + e, b1 = k + 8; two MMAs per 32
// K), not from the packer. Also checks that the four lanes of a column
// reading a 4-bit slice hit distinct shared-memory banks when whole k-tiles
// of four chunks are interleaved (the point of the interleaving).
//
//===----------------------------------------------------------------------===//

#include "../../lib/Conversion/BitplaneToGPU/DequantMmaKernels.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

using namespace qopt::gpu_kernels;

namespace {

struct Layout {
  MmaKind kind;
  int64_t p, n, k, kp, chunkWords;
};

/// The word of the packed [P, N, KP / 32] array that holds slice word q
/// of chunk j (interleaved within groups of chunkWords chunks), as a
/// kernel computes its shared-memory index.
int64_t wordIndex(const Layout &l, int64_t col, int64_t chunk,
                  int64_t flatInChunk) {
  int64_t flat = (chunk % l.chunkWords) * l.p + flatInChunk;
  int64_t row = flat / l.chunkWords;
  int64_t word = chunk / l.chunkWords * l.chunkWords + flat % l.chunkWords;
  return (row * l.n + col) * (l.kp / 32) + word;
}

/// A lane's B register `reg` of `chunk` as the kernels assemble it: the
/// p-bit values u of its elements (unsigned; sign handling is the
/// kernel's, after this).
uint32_t laneRegister(const Layout &l, const std::vector<int32_t> &packed,
                      int64_t col, int64_t chunk, int64_t t, int64_t reg) {
  bool s8 = l.kind == MmaKind::S8;
  uint32_t slotOnes = s8 ? 0x01010101u : 0x00010001u;
  uint32_t u = 0;
  for (const WeightSlice &sl : weightSlices(l.p)) {
    SliceField f = sliceField(l.kind, sl.width, reg, t);
    uint32_t word = static_cast<uint32_t>(
        packed[wordIndex(l, col, chunk, sl.word + f.word)]);
    uint32_t part = word >> f.shift;
    if (!(s8 && sl.width == 8))
      part &= slotOnes * ((1u << sl.width) - 1);
    u |= part << sl.shift;
  }
  return u;
}

void checkRoundTrip(const Layout &l, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_int_distribution<int64_t> dist(0, (int64_t(1) << l.p) - 1);
  std::vector<int64_t> w(l.n * l.k);
  for (int64_t &v : w)
    v = dist(rng);
  std::vector<int32_t> packed =
      packDequantMmaWeights(l.kind, w, l.n, l.k, l.kp, l.p, 0, l.chunkWords);
  ASSERT_EQ(static_cast<int64_t>(packed.size()), l.p * l.n * l.kp / 32);
  bool s8 = l.kind == MmaKind::S8;
  int64_t regs = s8 ? 2 : 4, elems = s8 ? 4 : 2, slot = s8 ? 8 : 16;
  for (int64_t col = 0; col < l.n; ++col)
    for (int64_t chunk = 0; chunk < l.kp / 32; ++chunk)
      for (int64_t t = 0; t < 4; ++t)
        for (int64_t reg = 0; reg < regs; ++reg) {
          uint32_t u = laneRegister(l, packed, col, chunk, t, reg);
          for (int64_t e = 0; e < elems; ++e) {
            // PTX fragment layouts: s8 b{reg} byte e is k = 16 reg + 4t + e;
            // f16 MMA m = reg / 2 of the chunk, b{reg % 2} half e is
            // k = 16 m + 8 (reg % 2) + 2t + e.
            int64_t kk = s8 ? 16 * reg + 4 * t + e
                            : 16 * (reg / 2) + 8 * (reg % 2) + 2 * t + e;
            int64_t x = chunk * 32 + kk;
            int64_t expected = x < l.k ? w[col * l.k + x] : 0;
            int64_t got = (u >> (slot * e)) & ((1u << slot) - 1);
            ASSERT_EQ(got, expected)
                << "p=" << l.p << " chunkWords=" << l.chunkWords
                << " col=" << col << " k=" << x << " t=" << t << " reg=" << reg
                << " e=" << e;
          }
        }
}

TEST(DequantMmaLayout, EveryLaneRegisterHoldsItsFragment) {
  for (MmaKind kind : {MmaKind::S8, MmaKind::F16})
    for (int64_t p = 1; p <= 8; ++p)
      for (int64_t chunkWords : {1, 2, 4}) {
        if (kind == MmaKind::F16 && chunkWords == 4)
          continue; // hmma's k-tile is 64 K at most below the decode tile
        // K not a multiple of 32: the padding must read as zero.
        Layout l{kind, p, 5, 300, 384, chunkWords};
        checkRoundTrip(l, 1000 * p + chunkWords);
      }
}

TEST(DequantMmaLayout, SlicesCoverTheBitsOnce) {
  for (int64_t p = 1; p <= 8; ++p) {
    int64_t bits = 0, words = 0;
    for (const WeightSlice &sl : weightSlices(p)) {
      EXPECT_EQ(sl.shift, bits) << "p=" << p;
      EXPECT_EQ(sl.word, words) << "p=" << p;
      bits += sl.width;
      words += sl.width; // a slice of width s fills s words per 32 K
    }
    EXPECT_EQ(bits, p);
  }
  // 4-bit weights are one slice: one load per register pair.
  EXPECT_EQ(weightSlices(4).size(), 1u);
  EXPECT_EQ(weightSlices(8).size(), 1u);
}

// With four interleaved chunks (imma's 128-K k-tile), the 32 lanes loading
// one slice word of one MMA read 32 distinct banks (8 columns g of a stage
// row of 4 words each, as the kernels stage them: [stage, P, BN, k-tile /
// 32]), or the same word where lanes share one.
TEST(DequantMmaLayout, FourBitSliceLoadsAreFreeOfBankConflicts) {
  for (int64_t p : {4, 8}) {
    const int64_t bn = 64, wordsPerTile = 4, chunkWords = 4;
    for (int64_t chunk = 0; chunk < 4; ++chunk)
      for (int64_t reg = 0; reg < 2; ++reg) {
        std::set<int64_t> banks;
        for (int64_t g = 0; g < 8; ++g)
          for (int64_t t = 0; t < 4; ++t) {
            SliceField f =
                sliceField(MmaKind::S8, weightSlices(p)[0].width, reg, t);
            int64_t flat = (chunk % chunkWords) * p + f.word;
            int64_t row = flat / chunkWords, word = flat % chunkWords;
            int64_t address = (row * bn + g) * wordsPerTile + word;
            banks.insert(address % 32);
          }
        EXPECT_EQ(banks.size(), 32u) << "p=" << p << " chunk=" << chunk;
      }
  }
}

// The most distinct words one bank serves in a warp's B loads, computed here
// from the PTX fragment positions (sliceField) and the strides alone.
int64_t worstBank(MmaKind kind, int64_t p, int64_t chunkWords,
                  int64_t planeWords, WeightSmemLayout l) {
  int64_t worst = 0;
  for (const WeightSlice &sl : weightSlices(p))
    for (int64_t chunk = 0; chunk < planeWords; ++chunk)
      for (int64_t reg = 0; reg < (kind == MmaKind::S8 ? 2 : 4); ++reg) {
        std::map<int64_t, std::set<int64_t>> banks;
        for (int64_t g = 0; g < 8; ++g)
          for (int64_t t = 0; t < 4; ++t) {
            SliceField f = sliceField(kind, sl.width, reg, t);
            int64_t flat = (chunk % chunkWords) * p + sl.word + f.word;
            int64_t address = flat / chunkWords * l.rowStride +
                              g * l.colStride +
                              chunk / chunkWords * chunkWords +
                              flat % chunkWords;
            banks[address % 32].insert(address);
          }
        for (const auto &[bank, words] : banks)
          worst = std::max<int64_t>(worst, words.size());
      }
  return worst;
}

// The padded shared-memory strides of the weights: per tile, the bank
// conflicts of the unpadded [P, BN, planeWords] stage (worked out by hand
// in the comments) and of the chosen strides, which must keep every
// cp.async copy aligned (multiples of min(4, planeWords) words).
TEST(DequantMmaLayout, PaddedStridesSpreadBLoadsOverBanks) {
  struct Case {
    const char *what;
    MmaKind kind;
    int64_t p, kt, chunkWords, bn, unpadded, padded;
  };
  const Case cases[] = {
      // Four lanes of a column read four consecutive words, columns 4
      // words apart: already all 32 banks.
      {"imma 64-row W4", MmaKind::S8, 4, 128, 4, 64, 1, 1},
      {"imma 64-row W8", MmaKind::S8, 8, 128, 4, 64, 1, 1},
      // Decode tile: columns 16 words apart (512-K stages), so columns g
      // and g + 2 share banks: 4-way; a stride of 20 spreads them.
      {"imma decode W4", MmaKind::S8, 4, 512, 4, 16, 4, 1},
      {"imma decode W2", MmaKind::S8, 2, 512, 4, 16, 4, 1},
      {"imma decode W6", MmaKind::S8, 6, 512, 4, 16, 4, 1},
      // Groups of 32 K: one chunk per interleave, the four lanes of a
      // column read four rows BN words apart: 4-way.
      {"imma g32 W4", MmaKind::S8, 4, 32, 1, 64, 4, 1},
      // hmma's two chunks: lanes t and t + 2 read rows BN * 2 words apart
      // (2-way); rows 16 banks apart separate them.
      {"hmma 64-row W4", MmaKind::F16, 4, 64, 2, 64, 2, 1},
      // hmma's decode tile: columns 8 words apart, 4-way; lanes t and t + 2
      // read words at the same offset of 16-byte units, so 2-way at best.
      {"hmma decode W4", MmaKind::F16, 4, 256, 2, 16, 4, 2},
      // hmma in groups of 32 (one word per column and row): the four lanes
      // of a column read four rows BN words apart, 4-way; rows 8 banks
      // apart separate them.
      {"hmma g32 W4", MmaKind::F16, 4, 32, 1, 64, 4, 1},
  };
  for (const Case &c : cases) {
    DequantMmaConfig config;
    config.kind = c.kind;
    config.p = c.p;
    config.kt = c.kt;
    config.chunkWords = c.chunkWords;
    config.bn = c.bn;
    int64_t planeWords = c.kt / 32;
    WeightSmemLayout plain{planeWords, c.bn * planeWords};
    EXPECT_EQ(worstBank(c.kind, c.p, c.chunkWords, planeWords, plain),
              c.unpadded)
        << c.what;
    WeightSmemLayout chosen = weightSmemLayout(config);
    EXPECT_EQ(worstBank(c.kind, c.p, c.chunkWords, planeWords, chosen),
              c.padded)
        << c.what;
    EXPECT_EQ(weightBankConflicts(config, chosen), c.padded) << c.what;
    int64_t unit = std::min<int64_t>(4, planeWords);
    EXPECT_EQ(chosen.colStride % unit, 0) << c.what;
    EXPECT_EQ(chosen.rowStride % unit, 0) << c.what;
    EXPECT_GE(chosen.colStride, planeWords) << c.what;
    EXPECT_GE(chosen.rowStride, c.bn * chosen.colStride) << c.what;
    EXPECT_EQ(config.weightStageBytes(), c.p * chosen.rowStride * 4)
        << c.what;
  }
}

} // namespace
