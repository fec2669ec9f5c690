// Package web holds what fitloop serves to browsers, embedded in the binary:
// the OpenAPI document and the API docs page (and, later, the UI).
package web

import (
	"embed"
	"io/fs"
	"net/http"

	"github.com/gin-gonic/gin"
)

//go:embed openapi.json
var OpenAPI []byte

//go:embed docs
var docs embed.FS

// Register serves /api/openapi.json and the docs page at /api/docs.
func Register(r gin.IRoutes) {
	r.GET("/api/openapi.json", func(c *gin.Context) {
		c.Data(http.StatusOK, "application/json", OpenAPI)
	})
	sub, _ := fs.Sub(docs, "docs")
	files := http.FileServer(http.FS(sub))
	r.GET("/api/docs", func(c *gin.Context) { c.Redirect(http.StatusMovedPermanently, "/api/docs/") })
	r.GET("/api/docs/*file", func(c *gin.Context) {
		c.Request.URL.Path = c.Param("file")
		files.ServeHTTP(c.Writer, c.Request)
	})
}
