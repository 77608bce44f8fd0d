// qualm/engine/memory_plan.h: activation buffers -> offsets in one arena.
//
// A small pure component (lifetimes in, offsets and peak out), used once at
// prepare by the inference executors (executor.h, int8_executor.h). Every
// graph value is a buffer live from the step that writes it to the last step
// that reads it, both inclusive. A node's output is therefore live together
// with every input the node reads, so no output ever shares bytes with an
// input of its own node: ops that read an input after writing part of their
// output (im2col, recurrent cells, pools) are safe without any in-place rule.
//
// The planner is the greedy-by-size one of TensorFlow Lite Micro's
// GreedyMemoryPlanner: buffers are placed largest first (ties: earlier first
// step, then index), each at the lowest aligned offset where it overlaps no
// already placed buffer whose lifetime intersects its own. Deterministic: the
// same lifetimes always give the same offsets.
//
// Training keeps every activation (backward reads them), so training
// executors never plan; only inference executors do.
#pragma once

#include <cstddef>
#include <vector>

#include "qualm/status.h"

namespace qualm {

struct BufferLifetime {
  std::size_t bytes = 0;
  int first = 0;  // first step (node index) that writes the buffer
  int last = 0;   // last step that reads it; >= first
};

struct MemoryPlan {
  std::vector<std::size_t> offsets;  // parallel to the lifetimes, multiples of `alignment`
  std::size_t arena_bytes = 0;       // the arena all buffers fit in
  std::size_t sum_bytes = 0;         // what one buffer each would take (each rounded up to `alignment`)
};

// Lifetimes are validated (first <= last, non-negative steps): an error names
// the bad buffer.
Result<MemoryPlan> PlanGreedyBySize(const std::vector<BufferLifetime>& buffers, std::size_t alignment = 64);

// The overlap checker: OK when every offset is aligned, every buffer lies
// inside the arena and no two buffers with intersecting lifetimes share a
// byte; otherwise an error naming the first two that do.
Status CheckMemoryPlan(const std::vector<BufferLifetime>& buffers, const MemoryPlan& plan, std::size_t alignment = 64);

// The lifetimes of a graph's values: value i is written by step i and read by
// the steps of the nodes that name it as input; `inputs[i]` are node i's input
// values (all < i). The values in `keep_to_end` (the outputs read after the
// last step) live to the last step.
std::vector<BufferLifetime> GraphLifetimes(const std::vector<std::vector<int>>& inputs,
                                           const std::vector<std::size_t>& bytes, const std::vector<int>& keep_to_end);

}  // namespace qualm
