// Package web holds what fitloop serves to browsers, embedded in the binary:
// the OpenAPI document and the API docs page (and, later, the UI).
package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// OpenAPI is the OpenAPI 3.1 document of the HTTP API, served at
// /api/openapi.json. A test fails when it and the routes disagree.
//
//go:embed openapi.json
var OpenAPI []byte

//go:embed docs
var docs embed.FS

// openAPIETag lets clients revalidate the document cheaply.
var openAPIETag = func() string {
	sum := sha256.Sum256(OpenAPI)
	return `"` + hex.EncodeToString(sum[:8]) + `"`
}()

// contentTypes are set explicitly: mime.TypeByExtension reads the host's
// mime.types, which differs between systems (text/ or application/javascript).
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".txt":  "text/plain; charset=utf-8",
	"":      "text/plain; charset=utf-8", // LICENSE, NOTICE
}

// Register serves /api/openapi.json and the docs page at /api/docs.
func Register(r gin.IRoutes) {
	r.GET("/api/openapi.json", func(c *gin.Context) {
		h := c.Writer.Header()
		h.Set("Content-Type", "application/json")
		h.Set("Cache-Control", "no-cache")
		h.Set("ETag", openAPIETag)
		http.ServeContent(c.Writer, c.Request, "openapi.json", time.Time{}, bytes.NewReader(OpenAPI))
	})
	sub, _ := fs.Sub(docs, "docs")
	files := http.FileServer(http.FS(sub))
	r.GET("/api/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/api/docs/") })
	r.GET("/api/docs/*file", func(c *gin.Context) {
		name := c.Param("file")
		h := c.Writer.Header()
		h.Set("X-Content-Type-Options", "nosniff")
		if strings.HasSuffix(name, "/") || name == "/index.html" {
			// The page names the assets' version in their URLs, so only it
			// needs revalidating after an upgrade.
			h.Set("Content-Type", contentTypes[".html"])
			h.Set("Cache-Control", "no-cache")
		} else {
			if ct, ok := contentTypes[path.Ext(name)]; ok {
				h.Set("Content-Type", ct)
			}
			h.Set("Cache-Control", "public, max-age=604800")
		}
		c.Request.URL.Path = name
		files.ServeHTTP(c.Writer, c.Request)
	})
}
