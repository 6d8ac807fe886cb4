/**
 * Running single TensorFlow ops through the tfjs-node addon's eager binding:
 * the backend object's shape as this project uses it, op attributes, and
 * int32 constants kept for the process. Shared by the kernels of
 * `lib/engine/native_kernels.ts` and the resource-variable SGD of
 * `lib/engine/native_sgd.ts`.
 *
 * @module
 */
import type { tf } from "./tf.ts";

/** The addon's backend object, as far as this project uses it. */
export interface NodeBackend {
  binding: {
    TF_ATTR_TYPE: number;
    TF_ATTR_INT: number;
    TF_ATTR_SHAPE: number;
    TF_ATTR_STRING: number;
    TF_ATTR_BOOL: number;
    TF_FLOAT: number;
    TF_INT32: number;
    executeOp(
      name: string,
      attrs: unknown[],
      ids: number[],
      numOutputs: number,
    ): unknown[];
    createTensor(
      shape: number[],
      dtype: number,
      values: Int32Array | Float32Array,
    ): number;
    deleteTensor(id: number): void;
  };
  isUsingGpuDevice?: boolean;
  getDTypeInteger(dtype: string): number;
  getInputTensorIds(tensors: tf.TensorInfo[]): number[];
  createOutputTensor(meta: unknown): tf.Tensor;
  executeSingleOutput(
    name: string,
    attrs: unknown[],
    inputs: tf.TensorInfo[],
  ): tf.Tensor;
  executeMultipleOutputs(
    name: string,
    attrs: unknown[],
    inputs: tf.TensorInfo[],
    numOutputs: number,
  ): tf.Tensor[];
}

/** A dtype attr (`T`, `Tparams`, ...) of a TensorFlow op. */
export function typeAttr(b: NodeBackend, name: string, dtype: number) {
  return { name, type: b.binding.TF_ATTR_TYPE, value: dtype };
}

/** A float32 dtype attr (`T` unless named). */
export function floatAttr(b: NodeBackend, name = "T") {
  return typeAttr(b, name, b.binding.TF_FLOAT);
}

/** An int32 dtype attr (`Tperm`, `Tindices`, ...). */
export function int32Attr(b: NodeBackend, name: string) {
  return typeAttr(b, name, b.binding.TF_INT32);
}

/** A bool attr of a TensorFlow op. */
export function boolAttr(b: NodeBackend, name: string, value: boolean) {
  return { name, type: b.binding.TF_ATTR_BOOL, value };
}

/** oneDNN kernels are chosen by this label on the renamed op. */
export function mklLabel(b: NodeBackend) {
  return {
    name: "_kernel",
    type: b.binding.TF_ATTR_STRING,
    value: "MklNameChangeOp",
  };
}

/** One op on TensorFlow tensor ids, its one output as a tfjs tensor. */
export function execute(
  b: NodeBackend,
  name: string,
  attrs: unknown[],
  ids: number[],
): tf.TensorInfo {
  return b.createOutputTensor(b.binding.executeOp(name, attrs, ids, 1)[0]);
}

/**
 * int32 TensorFlow tensors made once and kept for the process, by key (at
 * most 4096; beyond that each is made, used and deleted): shapes,
 * permutations and the patch kernels' indices. A cache: what it holds never
 * changes a result.
 */
const kept = new Map<string, number>();

/** The kept tensor for `key`, made by `make` the first time; its id. */
export function keptInt32(
  b: NodeBackend,
  key: string,
  make: () => { shape: number[]; values: Int32Array },
): number {
  const id = kept.get(key);
  if (id !== undefined) return id;
  const { shape, values } = make();
  const made = b.binding.createTensor(shape, b.binding.TF_INT32, values);
  if (kept.size < 4096) kept.set(key, made);
  else queueMicrotask(() => b.binding.deleteTensor(made));
  return made;
}

/** A small int32 vector (a shape, a permutation) as a kept tensor; its id. */
export function int32Constant(b: NodeBackend, values: number[]): number {
  return keptInt32(b, values.join(","), () => ({
    shape: [values.length],
    values: Int32Array.from(values),
  }));
}
