module github.com/resayil/portal/gateway

go 1.26.8
