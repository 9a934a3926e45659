// Package pyshape holds the two shape helpers that layers, npy and bench
// share: the number of elements of a shape, and the shape written as
// Python writes a tuple, as Keras and NumPy print shapes in their
// messages. An axis below 0 is Keras's None (an unknown batch).
package pyshape
