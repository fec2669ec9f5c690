// Command baregin is the baseline for the health benchmark: a bare gin engine
// (gin.New plus Recovery, nothing else) answering GET /healthz with the same
// JSON body fitloop sends. docs/BENCHMARKS.md compares fitloop's full
// middleware chain against it in the same run.
package main

import (
	"flag"
	"log"
	"net/http"

	"github.com/gin-gonic/gin"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:18090", "listen address")
	flag.Parse()
	gin.SetMode(gin.ReleaseMode)
	e := gin.New()
	e.Use(gin.Recovery())
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	log.Fatal(http.ListenAndServe(*addr, e))
}
