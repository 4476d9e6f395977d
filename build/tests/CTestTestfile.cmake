# CMake generated Testfile for 
# Source directory: /work/main/tests
# Build directory: /work/main/build/tests
# 
# This file includes the relevant testing commands required for 
# testing this directory and lists subdirectories to be tested as well.
add_test(unit_config "/work/main/build/tests/test_config")
set_tests_properties(unit_config PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;14;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_login "/work/main/build/tests/test_login")
set_tests_properties(unit_login PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;14;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_engine "/work/main/build/tests/test_engine")
set_tests_properties(unit_engine PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;14;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_logparse "/work/main/build/tests/test_logparse")
set_tests_properties(unit_logparse PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;14;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(unit_follow "/work/main/build/tests/test_follow")
set_tests_properties(unit_follow PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;23;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(integration_store "sh" "/work/main/tests/integration/with-redis.sh" "/work/main/build/tests/test_store")
set_tests_properties(integration_store PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "integration" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;29;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(integration_redis "sh" "/work/main/tests/integration/with-redis.sh" "/work/main/build/tests/test_redis")
set_tests_properties(integration_redis PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "integration" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;38;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(e2e_t_00_world "bash" "/work/main/tests/e2e/t_00_world.sh")
set_tests_properties(e2e_t_00_world PROPERTIES  DEPENDS "" ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "e2e" RUN_SERIAL "TRUE" TIMEOUT "300" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;48;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(miltertest_t_limits "bash" "/work/main/tests/miltertest/run.sh" "/work/main/tests/miltertest/t_limits.lua")
set_tests_properties(miltertest_t_limits PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "miltertest" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;57;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(miltertest_t_quarantine "bash" "/work/main/tests/miltertest/run.sh" "/work/main/tests/miltertest/t_quarantine.lua")
set_tests_properties(miltertest_t_quarantine PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "miltertest" TIMEOUT "120" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;57;add_test;/work/main/tests/CMakeLists.txt;0;")
add_test(tools_python "/root/.pyenv/shims/python3" "-m" "unittest" "discover" "-s" "/work/main/tools/tests" "-v")
set_tests_properties(tools_python PROPERTIES  ENVIRONMENT "SG_BUILD=/work/main/build;SG_SRC=/work/main" LABELS "unit" _BACKTRACE_TRIPLES "/work/main/tests/CMakeLists.txt;65;add_test;/work/main/tests/CMakeLists.txt;0;")
