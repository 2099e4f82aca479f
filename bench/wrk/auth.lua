-- GET with the benchmark's token and workspace (TOKEN, WS from the environment).
wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
wrk.headers["X-Workspace-Id"] = os.getenv("WS")
