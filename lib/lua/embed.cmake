# embed.cmake - turn lib/lua/NAME.lua files into C strings (sg_scripts.c).
# Called by the build with -DOUT=file -DNAMES=a;b -DDIR=lib/lua.
# A script may come in parts: NAME_core.lua (the model: helpers every
# operation uses), NAME_history.lua (each account's history),
# NAME_desk.lua (the support desk's operations) and NAME.lua (the
# operations); Redis gets one script, the parts that exist in that order.
set(src "/* Generated from lib/lua/ by embed.cmake. Do not edit. */\n")
string(APPEND src "#include \"sg_store.h\"\n\n")
set(table "const char *const sg_script_source[SG_SCRIPT_COUNT] = {\n")
set(names "const char *const sg_script_name[SG_SCRIPT_COUNT] = {\n")
foreach(n ${NAMES})
  set(hex "")
  if(EXISTS ${DIR}/${n}_core.lua)
    file(READ ${DIR}/${n}_core.lua hex HEX)
  endif()
  if(EXISTS ${DIR}/${n}_history.lua)
    file(READ ${DIR}/${n}_history.lua part HEX)
    string(APPEND hex "${part}")
  endif()
  if(EXISTS ${DIR}/${n}_desk.lua)
    file(READ ${DIR}/${n}_desk.lua desk HEX)
    string(APPEND hex "${desk}")
  endif()
  file(READ ${DIR}/${n}.lua ops HEX)
  string(APPEND hex "${ops}")
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
  string(APPEND src "static const char lua_${n}[] = {${bytes}0x00};\n")
  string(APPEND table "    lua_${n},\n")
  string(APPEND names "    \"${n}\",\n")
endforeach()
string(APPEND table "};\n")
string(APPEND names "};\n")
file(WRITE ${OUT} "${src}\n${table}\n${names}")
