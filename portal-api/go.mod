module github.com/resayil/portal/portal-api

go 1.26.8
