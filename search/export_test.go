package search

// SetSchemaForTest marks the index as made with another mapping version.
func (b *Bleve) SetSchemaForTest(v string) { _ = b.index.SetInternal(schemaKey, []byte(v)) }

// Count is how many documents the index holds.
func (b *Bleve) Count() (uint64, error) { return b.index.DocCount() }
