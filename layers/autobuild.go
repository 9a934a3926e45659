package layers

import (
	"errors"
	"fmt"
	"sync"

	"github.com/densecl/densecl/device"
)

// defaultBackend is DefaultBackend; tests replace it.
var defaultBackend = DefaultBackend

// The process's default backend, made once (see DefaultBackend).
var (
	defaultMu sync.Mutex
	defaultB  Backend
)

// DefaultBackend returns the backend that a loaded model builds itself on
// at its first Predict (see Load), and the one densebench picks: the OpenCL
// backend of the default device (device.Open(""): a GPU when there is
// one, else the CPU; DENSECL_DEVICE picks another), or Fallback (pure Go)
// where no OpenCL platform exists (device.ErrNoPlatform: no ICD loader, or
// no driver registered with it).
//
// The device is opened once per process, at the first call, and shared by
// every caller; it is never closed (close the models built on it, not the
// device). Any other failure to open it (a DENSECL_DEVICE that matches no
// device, a driver that fails) is returned, nothing is cached, and the next
// call tries again. Safe for concurrent use.
func DefaultBackend() (Backend, error) {
	defaultMu.Lock()
	defer defaultMu.Unlock()
	if defaultB != nil {
		return defaultB, nil
	}
	d, err := device.Open("")
	switch {
	case err == nil:
		defaultB = OpenCL(d)
	case errors.Is(err, device.ErrNoPlatform):
		defaultB = Fallback()
	default:
		return nil, fmt.Errorf("layers: opening the default device: %w", err)
	}
	return defaultB, nil
}

// autoBuilding marks a model that a loader returns as one that builds
// itself on DefaultBackend at its first Predict, as a model Keras's
// load_model returns predicts at once. It passes err through.
func autoBuilding(m *Sequential, err error) (*Sequential, error) {
	if err != nil || m == nil {
		return m, err
	}
	m.mu.Lock()
	m.autoBuild = true
	m.mu.Unlock()
	return m, nil
}

// buildDefault builds a loaded model that is not built yet on
// DefaultBackend, once: concurrent first calls wait for the one that
// builds. Build (or Close) ends the model's automatic building. It is
// called by Predict's entry points before they take the model's lock.
func (m *Sequential) buildDefault() error {
	m.mu.RLock()
	need := m.autoBuild && m.backend == nil
	m.mu.RUnlock()
	if !need {
		return nil
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if !m.autoBuild || m.backend != nil {
		return nil // built meanwhile, by this path or by Build
	}
	b, err := defaultBackend()
	if err != nil {
		return fmt.Errorf("layers: predict: model %q was loaded but not built, and building it on the default backend failed (call Build with a backend of your choice): %w", m.modelName(), err)
	}
	if err := m.buildOn(b); err != nil {
		return err
	}
	m.autoBuild = false
	return nil
}
