package registry

import (
	"encoding/json"
	"errors"
	"net/http"
)

// Error kinds callers can match with errors.Is.
var (
	ErrInvalidName         = errors.New("invalid repository name")
	ErrInvalidTag          = errors.New("invalid tag")
	ErrInvalidDigest       = errors.New("invalid digest")
	ErrDigestMismatch      = errors.New("digest mismatch")
	ErrRepositoryNotFound  = errors.New("repository not found")
	ErrRepositoryExists    = errors.New("repository already exists")
	ErrRepositoryNotEmpty  = errors.New("repository not empty")
	ErrManifestNotFound    = errors.New("manifest not found")
	ErrTagNotFound         = errors.New("tag not found")
	ErrBlobNotFound        = errors.New("blob not found")
	ErrUploadNotFound      = errors.New("blob upload not found")
	ErrUploadRange         = errors.New("blob upload out of order")
	ErrInvalidManifest     = errors.New("invalid manifest")
	ErrManifestBlobUnknown = errors.New("manifest references an unknown blob")
	ErrUnsupported         = errors.New("unsupported operation")
)

// apiError is one error of the distribution spec's error body.
type apiError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Detail  any    `json:"detail,omitempty"`
}

// errorCodes maps error kinds to the distribution spec's codes and HTTP statuses.
var errorCodes = []struct {
	err    error
	code   string
	status int
}{
	{ErrInvalidName, "NAME_INVALID", http.StatusBadRequest},
	{ErrInvalidTag, "TAG_INVALID", http.StatusBadRequest},
	{ErrRepositoryNotFound, "NAME_UNKNOWN", http.StatusNotFound},
	{ErrManifestNotFound, "MANIFEST_UNKNOWN", http.StatusNotFound},
	{ErrTagNotFound, "MANIFEST_UNKNOWN", http.StatusNotFound},
	{ErrBlobNotFound, "BLOB_UNKNOWN", http.StatusNotFound},
	{ErrUploadNotFound, "BLOB_UPLOAD_UNKNOWN", http.StatusNotFound},
	{ErrUploadRange, "BLOB_UPLOAD_INVALID", http.StatusRequestedRangeNotSatisfiable},
	{ErrInvalidDigest, "DIGEST_INVALID", http.StatusBadRequest},
	{ErrDigestMismatch, "DIGEST_INVALID", http.StatusBadRequest},
	{ErrManifestBlobUnknown, "MANIFEST_BLOB_UNKNOWN", http.StatusBadRequest},
	{ErrInvalidManifest, "MANIFEST_INVALID", http.StatusBadRequest},
	{ErrUnsupported, "UNSUPPORTED", http.StatusMethodNotAllowed},
	{ErrRepositoryExists, "DENIED", http.StatusForbidden},
}

func (r *Registry) writeError(w http.ResponseWriter, req *http.Request, err error) {
	code, status := "UNKNOWN", http.StatusInternalServerError
	for _, c := range errorCodes {
		if errors.Is(err, c.err) {
			code, status = c.code, c.status
			break
		}
	}
	if status == http.StatusInternalServerError {
		r.log.Error("registry request failed", "method", req.Method, "path", req.URL.Path, "err", err)
	}
	writeErrorCode(w, status, code, err.Error())
}

func writeErrorCode(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(struct {
		Errors []apiError `json:"errors"`
	}{[]apiError{{Code: code, Message: msg}}})
}
