-- wrk script: GET one customer's scores, cycling over the demo's customers.
function init(args)
  i = 0
  headers = {["Authorization"] = "Bearer " .. os.getenv("KEY")}
end

function request()
  i = i % 20000 + 1
  return wrk.format("GET", string.format("/v1/customers/c%05d", i), headers)
end
