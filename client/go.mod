module github.com/grantd/grantd/client

go 1.26.0
