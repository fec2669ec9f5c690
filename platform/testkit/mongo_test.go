package testkit

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.mongodb.org/mongo-driver/v2/bson"
	"go.mongodb.org/mongo-driver/v2/mongo"
	"go.mongodb.org/mongo-driver/v2/mongo/options"
)

func connectMongo(tb testing.TB, uri string) *mongo.Client {
	tb.Helper()
	c, err := mongo.Connect(options.Client().ApplyURI(uri))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = c.Disconnect(context.Background()) })
	return c
}

func TestMongo(t *testing.T) {
	ctx := context.Background()
	t.Run("gives_each_call_a_new_empty_database", func(t *testing.T) {
		uriA, nameA := Mongo(t)
		uriB, nameB := Mongo(t)
		assert.Equal(t, uriA, uriB, "one server per test binary")
		assert.NotEqual(t, nameA, nameB)
		a, b := connectMongo(t, uriA).Database(nameA), connectMongo(t, uriB).Database(nameB)

		names, err := a.ListCollectionNames(ctx, bson.D{})
		require.NoError(t, err)
		assert.Empty(t, names, "a new database has no collections")
		_, err = a.Collection("only_in_a").InsertOne(ctx, bson.D{{Key: "x", Value: 1}})
		require.NoError(t, err)
		n, err := b.Collection("only_in_a").CountDocuments(ctx, bson.D{})
		require.NoError(t, err)
		assert.Zero(t, n, "databases are separate")
	})

	t.Run("drops_the_database_when_the_test_ends", func(t *testing.T) {
		uri, _ := Mongo(t) // skips here when there is no server
		var name string
		t.Run("inner", func(t *testing.T) {
			_, name = Mongo(t)
			_, err := connectMongo(t, uri).Database(name).Collection("c").InsertOne(ctx, bson.D{{Key: "x", Value: 1}})
			require.NoError(t, err)
		})
		names, err := connectMongo(t, uri).ListDatabaseNames(ctx, bson.D{{Key: "name", Value: name}})
		require.NoError(t, err)
		assert.Empty(t, names, "database %s still exists", name)
	})

	t.Run("enforces_unique_indexes", func(t *testing.T) {
		uri, name := Mongo(t)
		c := connectMongo(t, uri).Database(name).Collection("c")
		_, err := c.Indexes().CreateOne(ctx, mongo.IndexModel{
			Keys: bson.D{{Key: "k", Value: 1}}, Options: options.Index().SetUnique(true),
		})
		require.NoError(t, err)
		_, err = c.InsertOne(ctx, bson.D{{Key: "k", Value: "a"}})
		require.NoError(t, err)
		_, err = c.InsertOne(ctx, bson.D{{Key: "k", Value: "a"}})
		assert.True(t, mongo.IsDuplicateKeyError(err), "%v", err)
	})
}

func TestFerretDBBin(t *testing.T) {
	t.Run("uses_the_binary_named_in_the_environment", func(t *testing.T) {
		bin := filepath.Join(t.TempDir(), "ferretdb")
		require.NoError(t, os.WriteFile(bin, []byte("#!/bin/sh\n"), 0o755))
		t.Setenv(EnvFerretDB, bin)
		got, missing, err := ferretDBBin()
		require.NoError(t, err)
		assert.Empty(t, missing)
		assert.Equal(t, bin, got)
	})
	t.Run("fails_on_a_wrong_path_in_the_environment", func(t *testing.T) {
		t.Setenv(EnvFerretDB, filepath.Join(t.TempDir(), "nothing"))
		_, _, err := ferretDBBin()
		assert.ErrorContains(t, err, EnvFerretDB)
	})
	t.Run("finds_the_wrapper_module_above_the_package", func(t *testing.T) {
		src, err := findUp(ferretDBSource)
		require.NoError(t, err)
		assert.FileExists(t, filepath.Join(src, "go.sum"))
	})
	t.Run("keys_the_build_by_the_module_files", func(t *testing.T) {
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), []byte("a"), 0o644))
		k1, err := hashDir(dir)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "go.sum"), []byte("b"), 0o644))
		k2, err := hashDir(dir)
		require.NoError(t, err)
		assert.NotEqual(t, k1, k2)
	})
}
