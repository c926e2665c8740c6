-- stsr-handoff: in your everyday mpv, one key hands the current file and position
-- over to `stsr play` (smoothed playback), keeping fullscreen, volume and tracks.
--
-- Installed by `stsr install-mpv-script` (into ~/.config/mpv/scripts/), which also
-- writes script-opts/stsr-handoff.conf with the path of the stsr command.
-- Options (script-opts/stsr-handoff.conf or --script-opts=stsr-handoff-KEY=VALUE):
--   stsr=stsr            the stsr command
--   key=b                the hand-over key (or bind "script-binding stsr_handoff/handoff" in input.conf)
--   extra=               more arguments for stsr play, separated by spaces (e.g. "--height 360")

local mp = require "mp"
local msg = require "mp.msg"
local options = { stsr = "stsr", key = "b", extra = "" }
require("mp.options").read_options(options, "stsr-handoff")

local function track_id(kind)
    local value = mp.get_property(kind)
    if value and value:match("^%d+$") then
        return value
    end
    return nil
end

local function handoff()
    local path = mp.get_property("path")
    if not path or path:match("^stsr://") then
        mp.osd_message("stsr: nothing to hand over")
        return
    end
    local working_directory = mp.get_property("working-directory") or ""
    if not path:match("^/") and not path:match("^%a+://") and working_directory ~= "" then
        path = working_directory .. "/" .. path
    end
    local position = mp.get_property_number("time-pos", 0) or 0
    local args = { options.stsr, "play", path, "--start", string.format("%.3f", position) }
    local function pass(key, value)
        if value then
            table.insert(args, "--mpv")
            table.insert(args, key .. "=" .. value)
        end
    end
    pass("fs", mp.get_property_bool("fullscreen") and "yes" or nil)
    pass("volume", mp.get_property("volume"))
    pass("mute", mp.get_property_bool("mute") and "yes" or nil)
    pass("aid", track_id("aid"))
    pass("sid", track_id("sid"))
    for word in options.extra:gmatch("%S+") do
        table.insert(args, word)
    end
    msg.info("handing over: " .. table.concat(args, " "))
    mp.osd_message("stsr: opening smoothed playback...")
    mp.set_property_bool("pause", true)
    mp.command_native_async({ name = "subprocess", args = args, detach = true, playback_only = false },
        function(success, result, error)
            if not success or (result and result.error_string and result.error_string ~= "") then
                mp.osd_message("stsr: could not start " .. options.stsr .. " (" ..
                    tostring(error or (result and result.error_string)) .. ")", 5)
                return
            end
            mp.command("quit")
        end)
end

mp.add_key_binding(options.key, "handoff", handoff)
