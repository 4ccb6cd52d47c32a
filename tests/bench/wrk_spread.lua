-- wrk script for run.py: wrk ... -s wrk_spread.lua URL -- METHOD BODY PATH...
-- Each request goes to the next path in turn (one session, or a lab's 64),
-- with BODY as application/json when METHOD is POST.
local method, body, paths, n = "GET", nil, {}, 0

function init(args)
	method = args[1]
	if args[2] ~= "" then
		body = args[2]
	end
	for i = 3, #args do
		paths[#paths + 1] = args[i]
	end
	n = math.random(#paths) - 1
end

function request()
	local headers = {}
	n = n % #paths + 1
	if body then
		headers["Content-Type"] = "application/json"
	end
	return wrk.format(method, paths[n], headers, body)
end
